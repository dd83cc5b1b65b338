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
    0.192346, 0.406071, 0.192346, 0.171703, 0.154483, 0.139613, 0.226241, 1.12878, 0.391926, 0.380992, 0, 0.139613, 0,
    2.70663, 0,
  ],
  scale: [
    0.209042, 0.385502, 0.209042, 0.207965, 0.199153, 0.346585, 0.418397, 0.634822, 0.48818, 0.485631, 1, 0.346585, 1,
    0.759506, 1,
  ],
  weights: [
    0.081134, 0.325743, 0.081134, -0.0306932, -0.0666298, 0.0568114, 0.0405228, 0.0032609, 0.053082, -0.0161854, 0,
    0.0412313, 0, -0.126399, 0,
  ],
  bias: -0.251091,
  threshold: 0.3,
  fittedOn: "ClapNQ dev answerable half A (1189 sentences of 166 questions), 2026-12-06, commit 723d5b4",
};
