import type { AnswerabilityModel } from "./answerability.js";

// Written by `npm run bench:answerability -- --write`; do not edit by hand.
export const ANSWERABILITY_MODEL: AnswerabilityModel = {
  features: ["covBest","covSecond","covWindow","covTop","covAll","covTitle","relShare","relBest","relTop","maxMissingIdf","missingNumber","novelty","expectsType","typeFound","typeFoundTop","wh","questionTerms","cosBest","cosTop","cosMax","topScore","margin"],
  mean: [0.485013, 0.370098, 0.521001, 0.485725, 0.813903, 0.251201, 0.70572, 0.516149, 0.324642, 0.753755, 0.0481481, 0.680286, 0.462963, 0.233333, 0.407407, 0.8, 1.73208, 0.445205, 0.476603, 0.533724, 0.732016, 0.153836],
  scale: [0.18844, 0.160417, 0.199539, 0.23329, 0.229898, 0.228483, 0.241942, 0.257133, 0.286427, 0.270104, 0.214079, 0.324139, 0.498626, 0.422953, 0.491352, 0.4, 0.24199, 0.186423, 0.16743, 0.134176, 0.0802924, 0.139148],
  weights: [0.209577, 0.137374, -0.0734031, 0.251913, -0.159019, -0.17928, -0.595722, -0.172425, 0.551645, 0.157991, -0.064615, 0.21942, 0.0809196, 0.069502, -0.108027, 0.559871, -0.440853, 0.252218, 1.11819, -0.259807, 0.436051, -0.0617456],
  bias: 0.116198,
  threshold: 0.392,
  fittedOn: "ClapNQ dev half A (270 questions), 2026-11-28, commit 98ed6a4",
};
