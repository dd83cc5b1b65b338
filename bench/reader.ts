/**
 * Fits the extractive reader (pipelines/generate/reader.ts) on ClapNQ dev's gold
 * `selected_sentences`, on half A of the same fixed hash split as the answerability judge
 * (bench/clapnq-data.ts halfOf), and reports on half B, which the fit never sees.
 *
 * It reads what /ask gave the generator for each question, saved by `npm run bench:reader-collect`
 * (bench/out/clapnq-cache: the packed sources, the judge's probability, USE-Lite vectors), so the
 * sources, distractors and rank order are the real ones and a fit takes seconds. Every unit of the
 * best-supported passage is labelled by whether it is one of an annotator's selected sentences; a
 * logistic regression fits the weights; then the stopping rule (the bar for joining the answer,
 * the lower bar for a neighbour of a chosen unit, the most units, the share of the best support at
 * which a passage the reranker put first is read instead) is chosen on
 * half A: nearest the goal (the larger of the shortfalls from precision 0.60 and recall
 * 0.70) with the gold passage cited at least as often as the current model. Reported with the
 * answerability bar and the verifier, as bench:clapnq does.
 *
 *   npm run bench:reader -- [--write]
 */
import { execSync } from "node:child_process";
import { basename } from "node:path";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { ANSWERABILITY_MODEL } from "../pipelines/answer/answerability-model.js";
import { READER_MODEL } from "../pipelines/answer/reader-model.js";
import { bestSentenceOverlap, sentenceOverlap } from "../pipelines/eval/answer-metrics.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import {
  chooseAnswer,
  isProse,
  READER_FEATURES,
  scoreUnits,
  type ReaderModel,
  type ScoredUnit,
} from "../pipelines/generate/reader.js";
import { fitLogistic } from "./fit-logistic.js";
import { type CachedQuestion, readCachedQuestions } from "./reader-data.js";
import {
  cachedEmbed,
  figures,
  quantile,
  scoreQuestions,
  type HalfFigures,
  type ScoredQuestion,
} from "./reader-score.js";

const { values: args } = parseArgs({
  options: {
    write: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    // Ablation: fit without these features (comma-separated), e.g. --without anaphor,position.
    without: { type: "string", default: "" },
    // Score the fit by five-fold cross-validation within half A instead of fitting one model.
    cv: { type: "boolean", default: false },
  },
});
const MODEL_FILE = new URL("../pipelines/answer/reader-model.ts", import.meta.url).pathname;
const RANK_PRIOR = 1.0;
const GOAL = { precision: 0.6, recall: 0.7 };
// The extractive generator's minSupport: below it, it abstains.
const MIN_SUPPORT = 0.25;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

const WITHOUT = new Set(args.without.split(",").filter(Boolean));
for (const f of WITHOUT) {
  if (!(READER_FEATURES as readonly string[]).includes(f)) {
    throw new Error(`--without ${f}: not one of ${READER_FEATURES.join(", ")}`);
  }
}
const FEATURES = READER_FEATURES.filter((f) => !WITHOUT.has(f));

const ZERO: ReaderModel = {
  features: [...READER_FEATURES],
  mean: READER_FEATURES.map(() => 0),
  scale: READER_FEATURES.map(() => 1),
  weights: READER_FEATURES.map(() => 0),
  bias: 0,
  threshold: 0.5,
  fittedOn: "",
};

/**
 * Weights fitted on the prose units of each question's best-supported passage, the one the answer
 * is read from for all but a few questions (reader.ts: rankedPassageShare): the probability only
 * chooses which of a passage's units to say. Fitted on every passage's units, the weights learnt
 * which passage answers (coverage against the whole context) and ranked the units within one no
 * better than coverage alone (half A: top-1 precision 0.59 against 0.62).
 */
function fitWeights(train: CachedQuestion[]) {
  const rows: number[][] = [];
  const labels: number[] = [];
  for (const q of train.filter((q) => q.kind === "answerable")) {
    const gold = q.gold.flatMap((g) => g.selected);
    if (gold.length === 0) {
      continue;
    }
    const prose = scoreUnits(q.question, q.sources, ZERO, RANK_PRIOR).filter(isProse);
    const best = prose.reduce<ScoredUnit | undefined>((b, s) => (!b || s.support > b.support ? s : b), undefined);
    for (const s of prose.filter((s) => s.passage === best?.passage)) {
      rows.push(FEATURES.map((f) => s.features[f]));
      labels.push(sentenceOverlap([s.unit.text], gold).precision === 1 ? 1 : 0);
    }
  }
  const model: ReaderModel = { features: [...FEATURES], ...fitLogistic(rows, labels), threshold: 0.5, fittedOn: "" };
  return { model, units: rows.length };
}

/**
 * Figures of a reader over `set` without re-scoring: units are scored once per weights, only the
 * choice varies (unverified; the verifier keeps nearly every verbatim quote).
 */
function fastFigures(set: CachedQuestion[], weights: ReaderModel) {
  const read = set.map((q) => ({ q, scored: scoreUnits(q.question, q.sources, weights, RANK_PRIOR) }));
  return (m: ReaderModel) => {
    const said: ScoredQuestion[] = read.map(({ q, scored }) => {
      const support = scored.filter(isProse).reduce((x, s) => Math.max(x, s.support), 0);
      const units = support < MIN_SUPPORT ? [] : chooseAnswer(q.question, scored, m, 4).units;
      const o = bestSentenceOverlap(
        units.map((u) => u.text),
        q.gold.map((g) => g.selected),
      );
      const answered = units.length > 0;
      return {
        q,
        abstained: !answered,
        goldCited: units.some((u) => basename(u.source.hit.path) === q.goldFile),
        precision: answered && q.kind === "answerable" ? o.precision : null,
        recall: answered && q.kind === "answerable" ? o.recall : null,
        ms: 0,
      };
    });
    return { said, f: figures(said, "A") };
  };
}

// Nearest the goal: the larger of the shortfalls from precision 0.60 and recall 0.70.
const reachOf = (f: HalfFigures) => Math.min(f.precision / GOAL.precision, f.recall / GOAL.recall);

/** The stopping rule nearest the goal on `set` that cites the gold passage at least `goldCited` often. */
function chooseRule(set: CachedQuestion[], base: ReaderModel, goldCited: number) {
  const fast = fastFigures(set, base);
  let best: { model: ReaderModel; f: HalfFigures; reach: number } | undefined;
  for (const threshold of [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6]) {
    for (const neighbourThreshold of [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 1]) {
      if (neighbourThreshold < 1 && neighbourThreshold > threshold) {
        continue;
      }
      for (const maxUnits of [2, 3, 4, 5]) {
        for (const rankedPassageShare of [0.3, 0.4, 0.5, 0.6, 0.8]) {
          const model = { ...base, threshold, neighbourThreshold, maxUnits, rankedPassageShare };
          const { f } = fast(model);
          if (args.verbose) {
            console.log(`  ${threshold} ${neighbourThreshold} ${maxUnits} ${rankedPassageShare}: ${show(f)}`);
          }
          const reach = reachOf(f);
          if (f.goldCited >= goldCited && (!best || reach > best.reach)) {
            best = { model, f, reach };
          }
        }
      }
    }
  }
  return best;
}

/**
 * Five-fold cross-validation within half A: weights and stopping rule chosen on four fifths,
 * scored on the fifth. How features are chosen (with --without) without looking at half B.
 */
function crossValidate(halfA: CachedQuestion[], bar: number) {
  const fold = (id: string) => [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 5;
  const said: ScoredQuestion[] = [];
  for (let k = 0; k < 5; k++) {
    const train = halfA.filter((q) => fold(q.id) !== k);
    const test = halfA.filter((q) => fold(q.id) === k && q.answerability >= bar);
    const answered = train.filter((q) => q.answerability >= bar);
    const floor = fastFigures(answered, READER_MODEL)(READER_MODEL).f.goldCited;
    const rule = chooseRule(answered, fitWeights(train).model, floor);
    if (rule) {
      said.push(...fastFigures(test, rule.model)(rule.model).said);
    }
  }
  const f = figures(said, "A");
  console.log(
    `5-fold cross-validation within half A, features ${FEATURES.join(", ")}: ${show(f)}, reach ${reachOf(f).toFixed(3)}`,
  );
}

async function main() {
  const questions = readCachedQuestions();
  const bar = ANSWERABILITY_MODEL.threshold;
  // The weights are fitted on every half-A question, the stopping rule on those the judge answers.
  const fitHalf = questions.filter((q) => q.half === "A");
  if (args.cv) {
    crossValidate(fitHalf, bar);
    return;
  }
  const { model: base, units: fittedUnits } = fitWeights(fitHalf);
  const halfA = fitHalf.filter((q) => q.answerability >= bar);
  const current = fastFigures(halfA, READER_MODEL)(READER_MODEL).f;
  console.log(`current model, half A unverified: ${show(current)}`);
  const best = chooseRule(halfA, base, current.goldCited);
  if (!best) {
    console.log("no stopping rule cites the gold passage as often as the current model on half A");
    return;
  }
  const chosen = best.model;
  const { threshold, neighbourThreshold, maxUnits, rankedPassageShare } = chosen;
  console.log(
    `chosen on half A: bar ${threshold}, neighbour bar ${neighbourThreshold}, at most ${maxUnits} units, a passage ranked first read at ${rankedPassageShare} of the best support: ${show(best.f)}`,
  );

  // Both models with the verifier, both halves, as bench:clapnq would score them.
  const embed = cachedEmbed();
  console.log(
    "\n| model | half | gold cited | unanswerable abstained | precision | recall | answered | generation p50 / p95 ms |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const [name, m] of [
    ["current", READER_MODEL],
    ["fitted", chosen],
  ] as const) {
    const scored = await scoreQuestions(questions, createExtractiveGenerator({ model: m }), bar, embed.embed);
    const ms = scored.filter((s) => s.ms > 0).map((s) => s.ms);
    for (const half of ["A", "B"] as const) {
      const f = figures(scored, half);
      console.log(
        `| ${name} | ${half} | ${pct(f.goldCited)} | ${pct(f.abstained)} | ${f.precision.toFixed(3)} | ${f.recall.toFixed(3)} | ${f.answered}/${f.answerable} | ${quantile(ms, 0.5).toFixed(2)} / ${quantile(ms, 0.95).toFixed(2)} |`,
      );
    }
  }
  await embed.close();
  console.log(`load average ${load()} (1, 5, 15 min; 2 cores, shared)`);

  console.log("\nweights (standardised):");
  for (const [f, w] of FEATURES.map((f, j) => [f, base.weights[j]!] as const).sort(
    (x, y) => Math.abs(y[1]) - Math.abs(x[1]),
  )) {
    console.log(`  ${f.padEnd(16)} ${w.toFixed(3)}`);
  }
  if (args.write) {
    const commit = execSync("git rev-parse --short HEAD").toString().trim();
    const fittedOn = `ClapNQ dev answerable half A, /ask's packed sources (${fittedUnits} units of ${fitHalf.filter((q) => q.kind === "answerable").length} questions), ${new Date().toISOString().slice(0, 10)}, commit ${commit}`;
    const r = (xs: readonly number[]) => `[${xs.map((x) => Number(x.toPrecision(6))).join(", ")}]`;
    writeFileSync(
      MODEL_FILE,
      `import type { ReaderModel } from "../generate/reader.js";

// Written by \`npm run bench:reader -- --write\`; do not edit by hand.
export const READER_MODEL: ReaderModel = {
  features: ${JSON.stringify(chosen.features)},
  mean: ${r(chosen.mean)},
  scale: ${r(chosen.scale)},
  weights: ${r(chosen.weights)},
  bias: ${Number(chosen.bias.toPrecision(6))},
  threshold: ${threshold},
  neighbourThreshold: ${neighbourThreshold},
  maxUnits: ${maxUnits},
  rankedPassageShare: ${rankedPassageShare},
  fittedOn: ${JSON.stringify(fittedOn)},
};
`,
    );
    console.log(`\nwrote ${MODEL_FILE}`);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const show = (f: HalfFigures) =>
  `gold cited ${pct(f.goldCited)}, abstained ${pct(f.abstained)}, precision ${f.precision.toFixed(3)}, recall ${f.recall.toFixed(3)}`;

await main();
