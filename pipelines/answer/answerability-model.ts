import type { AnswerabilityModel } from "./types.js";

// Written by `npm run bench:answerability -- --write`; do not edit by hand.
export const ANSWERABILITY_MODEL: AnswerabilityModel = {
  features: [
    "covBest",
    "covSecond",
    "covWindow",
    "covTop",
    "covAll",
    "covTitle",
    "relShare",
    "relBest",
    "relTop",
    "maxMissingIdf",
    "missingNumber",
    "novelty",
    "expectsType",
    "typeFound",
    "typeFoundTop",
    "wh",
    "questionTerms",
    "cosBest",
    "cosTop",
    "topScore",
    "margin",
  ],
  mean: [
    0.485013, 0.370098, 0.521001, 0.485725, 0.813903, 0.251201, 0.70572, 0.516149, 0.324642, 0.753755, 0.0481481,
    0.680286, 0.462963, 0.233333, 0.407407, 0.8, 1.73208, 0.445205, 0.476603, 0.732016, 0.153836,
  ],
  scale: [
    0.18844, 0.160417, 0.199539, 0.23329, 0.229898, 0.228483, 0.241942, 0.257133, 0.286427, 0.270104, 0.214079,
    0.324139, 0.498626, 0.422953, 0.491352, 0.4, 0.24199, 0.186423, 0.16743, 0.0802924, 0.139148,
  ],
  weights: [
    0.21927, 0.125283, -0.0724086, 0.250818, -0.141054, -0.189614, -0.575721, -0.182151, 0.550609, 0.165823, -0.0611178,
    0.221254, 0.0726839, 0.0778508, -0.0976842, 0.557166, -0.448208, 0.197084, 0.952507, 0.457365, -0.0644969,
  ],
  bias: 0.114142,
  threshold: 0.388,
  fittedOn: "ClapNQ dev half A (270 questions), 2026-11-28, commit 819d20d",
};
