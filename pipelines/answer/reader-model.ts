import type { ReaderModel } from "../generate/reader.js";

// Written by `npm run bench:reader -- --write`; do not edit by hand.
export const READER_MODEL: ReaderModel = {
  features: [
    "coverage",
    "relCoverage",
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
    0.139245, 0.279055, 0.139245, 0.124663, 0.0942102, 0.206774, 0.286129, 0.936068, 0.424516, 0.308065, 0, 0.0909677,
    0, 2.96356, 0,
  ],
  scale: [
    0.170076, 0.315802, 0.170076, 0.17328, 0.148238, 0.404992, 0.45195, 0.629858, 0.494269, 0.461693, 1, 0.287563, 1,
    0.459706, 1,
  ],
  weights: [
    0.133012, 0.562978, 0.133012, 0.333782, 0.136595, -0.148505, -0.185934, 0.314141, 0.00972994, 0.0263557, 0,
    -0.313344, 0, -0.106424, 0,
  ],
  bias: -2.19928,
  threshold: 0.2,
  neighbourThreshold: 0.2,
  maxUnits: 4,
  secondSourceShare: 0.6,
  fittedOn:
    "ClapNQ dev answerable half A, /ask's packed sources (3100 units of 167 questions), 2026-12-06, commit d49a7b1",
};
