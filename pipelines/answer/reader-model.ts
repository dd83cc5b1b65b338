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
    "coverageRank",
  ],
  mean: [
    0.20205, 0.393374, 0.405599, 0.20205, 0.212298, 0.144889, 0.130977, 0.226611, 1.13298, 0.443867, 0.351351, 0,
    0.156965, 0, 2.97508, 0, 1.03765,
  ],
  scale: [
    0.217093, 0.375946, 0.386124, 0.217093, 0.220519, 0.193847, 0.337375, 0.418639, 0.623273, 0.496839, 0.477392, 1,
    0.363767, 1, 0.42605, 1, 0.693107,
  ],
  weights: [
    0.147913, 0.254892, 0.0167821, 0.147913, 0.0417421, -0.125638, -0.177101, -0.00115638, 0.0483194, -0.000830481,
    -0.0371979, 0, 0.231241, 0, -0.00674576, 0, -0.119933,
  ],
  bias: -0.515076,
  threshold: 0.35,
  neighbourThreshold: 0.35,
  maxUnits: 5,
  rankedPassageShare: 0.3,
  fittedOn:
    "ClapNQ dev answerable half A, /ask's packed sources (962 units of 167 questions), 2026-12-07, commit e4343ba",
};
