import type { ReaderModel } from "../generate/reader.js";

// Written by `npm run bench:reader -- --write`; do not edit by hand.
export const READER_MODEL: ReaderModel = {
  features: [
    "coverage",
    "relCoverage",
    "passageCoverage",
    "subjectCoverage",
    "prevCoverage",
    "nextCoverage",
    "bestInSource",
    "nearBest",
    "distBest",
    "typeFound",
    "typeNext",
    "defaultAsked",
    "first",
    "row",
    "words",
    "literal",
  ],
  mean: [
    0.203848, 0.39781, 0.410466, 0.203848, 0.21497, 0.145148, 0.13525, 0.231097, 1.11885, 0.44196, 0.345048, 0,
    0.162939, 0, 2.99175, 0,
  ],
  scale: [
    0.217754, 0.377239, 0.387778, 0.217754, 0.221498, 0.19391, 0.341991, 0.421534, 0.624473, 0.49662, 0.475384, 1,
    0.36931, 1, 0.436913, 1,
  ],
  weights: [
    0.157712, 0.279856, 0.0717123, 0.157712, 0.0104008, -0.0962671, -0.109544, 0.00763733, 0.0952481, 0.0108637,
    -0.0485526, 0, 0.234784, 0, -0.136107, 0,
  ],
  bias: -0.504551,
  threshold: 0.3,
  neighbourThreshold: 0.25,
  maxUnits: 3,
  rankedPassageShare: 0.3,
  fittedOn:
    "ClapNQ dev answerable half A, /ask's packed sources (939 units of 167 questions), 2026-12-07, commit 330cd4a",
};
