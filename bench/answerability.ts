/**
 * Fits the answerability judge (pipelines/answer/answerability.ts) on half A of ClapNQ dev and
 * reports it on half B, which the fit never sees. Every question goes through the real answer
 * path (answerQuestion: hybrid retrieval, lexical reranker, packing, extractive generator,
 * verification) with the judge recording its features but never abstaining; since the judge can
 * only turn an answer into an abstention, the outcome at any bar follows exactly from that run.
 *
 *   npm run bench:answerability -- [--features bench/out/answerability-features.json] [--write]
 *
 * --features reuses a saved run (it is written on every fresh run). --write replaces
 * pipelines/answer/answerability-model.ts with the fitted model. Figures only, no assertions.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { parseArgs } from "node:util";
import { execSync } from "node:child_process";
import { answerQuestion } from "../pipelines/answer/ask.js";
import { answerabilityScore, type AnswerabilityModel } from "../pipelines/answer/answerability.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import type { ContextSource, Generator } from "../pipelines/generate/types.js";
import { answerabilityFeatures } from "../pipelines/answer/answerability.js";
import { createEmbedder } from "../pipelines/embed/index.js";
import { verifyAnswer } from "../pipelines/verify/verify.js";
import { createLexicalReranker } from "../pipelines/rerank/lexical.js";
import { defaultDenseWeight } from "../pipelines/retrieve/hybrid.js";
import { fitLogistic } from "./fit-logistic.js";
import { halfOf, indexClapnq, pct, readClapnq, fileOf, type Question } from "./clapnq-data.js";

const { values: args } = parseArgs({
  options: {
    features: { type: "string" },
    packed: { type: "string" },
    "rank-prior": { type: "string" },
    "min-support": { type: "string" },
    write: { type: "boolean", default: false },
    "top-k": { type: "string", default: "8" },
    // The default bar abstains on 70% of half A's unanswerable questions: past it each point of abstention
    // costs more answered questions (README: the trade-off table).
    "min-abstain": { type: "string", default: "0.7" },
  },
});
const OUT = new URL("./out/answerability-features.json", import.meta.url).pathname;
const PACKED = new URL("./out/answerability-packed.json", import.meta.url).pathname;
const MODEL_FILE = new URL("../pipelines/answer/answerability-model.ts", import.meta.url).pathname;

/** What the generator was given for one question, saved so features can be re-computed without re-indexing. */
interface PackedRow {
  id: string;
  question: string;
  kind: Question["kind"];
  half: "A" | "B";
  abstained: boolean;
  goldCited: boolean;
  sources: ContextSource[];
}

interface Row {
  id: string;
  kind: Question["kind"];
  half: "A" | "B";
  /** The pipeline without the judge abstained anyway (generator or verifier). */
  abstained: boolean;
  goldCited: boolean;
  features: Record<string, number> | null;
}

async function collect(): Promise<Row[]> {
  const { answerable, unanswerable } = readClapnq();
  const indexed = await indexClapnq([...answerable, ...unanswerable]);
  console.log(`indexed ${indexed.indexed}/${indexed.passages} passages in ${indexed.seconds.toFixed(1)} s`);
  const { core } = indexed;
  const zero: AnswerabilityModel = {
    features: [],
    mean: [],
    scale: [],
    weights: [],
    bias: 0,
    threshold: 0,
    fittedOn: "",
  };
  const extractive = createExtractiveGenerator();
  let given: ContextSource[] = [];
  const generator: Generator = {
    ...extractive,
    generate: (input) => {
      given = input.sources;
      return extractive.generate(input);
    },
  };
  const packed: PackedRow[] = [];
  const served = core.runtime.current();
  const deps = {
    store: core.store,
    embedder: served.embedder,
    generator,
    reranker: createLexicalReranker(),
    generationId: served.generation.id,
    denseWeight: defaultDenseWeight(served.embedder.identity.provider),
    verify: { mode: "remove" as const, minSupportedShare: 0.5 },
    // Runs the judge (a bar above 0) but never below it: the placeholder model scores 0.5.
    answerability: { threshold: Number.MIN_VALUE, model: zero },
  };
  const questions: Question[] = [
    ...answerable.map((item) => ({ item, kind: "answerable" as const })),
    ...unanswerable.map((item) => ({ item, kind: "unanswerable" as const })),
  ];
  const rows: Row[] = [];
  const t0 = performance.now();
  for (const [i, { item, kind }] of questions.entries()) {
    let features: Record<string, number> | null = null;
    given = [];
    const r = await answerQuestion(
      deps,
      { question: item.input, topK: Number(args["top-k"]) },
      { onAnswerability: (a) => (features = a.features) },
    );
    const gold = fileOf(item.passages[0]!);
    rows.push({
      id: item.id,
      kind,
      half: halfOf(item),
      abstained: r.abstained,
      goldCited: !r.abstained && r.citations.some((c) => basename(c.path) === gold),
      features,
    });
    packed.push({
      ...rows.at(-1)!,
      question: item.input,
      sources: given.map((s) => ({ ...s, hit: { ...s.hit, text: "" } })),
    });
    if ((i + 1) % 100 === 0) {
      console.log(`  asked ${i + 1}/${questions.length} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  await indexed.close();
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(rows));
  writeFileSync(PACKED, JSON.stringify(packed));
  return rows;
}

/**
 * Answers and features again from saved packed sources (what retrieval and packing gave each
 * question), for changing the features or the generator's settings without re-indexing: the
 * extractive generator and the verifier run as in answerQuestion.
 */
async function recompute(file: string): Promise<Row[]> {
  const packed = JSON.parse(readFileSync(file, "utf8")) as PackedRow[];
  const { answerable, unanswerable } = readClapnq();
  const gold = new Map([...answerable, ...unanswerable].map((i) => [i.id, fileOf(i.passages[0]!)]));
  const embedder = await createEmbedder("use-lite");
  const embed = (t: string[]) => embedder.embed(t);
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const generator = createExtractiveGenerator({
    rankPrior: num(args["rank-prior"]),
    minSupport: num(args["min-support"]),
  });
  const rows: Row[] = [];
  for (const p of packed) {
    if (!p.sources.length) {
      rows.push({ id: p.id, kind: p.kind, half: p.half, abstained: true, goldCited: false, features: null });
      continue;
    }
    const features = await answerabilityFeatures(p.question, p.sources, embed);
    const verified = await verifyAnswer(
      await generator.generate({ question: p.question, sources: p.sources }),
      p.sources,
      { mode: "remove", minSupportedShare: 0.5, embed },
    );
    const goldCited =
      !verified.abstained && verified.cited.some((n) => basename(p.sources[n - 1]!.hit.path) === gold.get(p.id));
    rows.push({ id: p.id, kind: p.kind, half: p.half, abstained: verified.abstained, goldCited, features });
  }
  await embedder.close();
  writeFileSync(OUT, JSON.stringify(rows));
  return rows;
}

function outcome(rows: Row[], score: (r: Row) => number, bar: number) {
  const ans = rows.filter((r) => r.kind === "answerable");
  const una = rows.filter((r) => r.kind === "unanswerable");
  const answers = (r: Row) => !r.abstained && r.features !== null && score(r) >= bar;
  return {
    answeredGold: ans.filter((r) => answers(r) && r.goldCited).length,
    answered: ans.filter(answers).length,
    answerable: ans.length,
    abstained: una.filter((r) => !answers(r)).length,
    unanswerable: una.length,
  };
}

function auc(pos: number[], neg: number[]): number {
  let wins = 0;
  for (const p of pos) {
    for (const n of neg) {
      wins += p > n ? 1 : p === n ? 0.5 : 0;
    }
  }
  return wins / (pos.length * neg.length || 1);
}

async function main() {
  const rows: Row[] = args.packed
    ? await recompute(args.packed)
    : args.features && existsSync(args.features)
      ? JSON.parse(readFileSync(args.features, "utf8"))
      : await collect();
  // Features a saved run has but the extractor no longer computes are left out of the fit.
  const current = await answerabilityFeatures("When was it built?", [], undefined);
  const names = Object.keys(rows.find((r) => r.features)!.features!).filter((n) => n in current);
  const A = rows.filter((r) => r.half === "A");
  const B = rows.filter((r) => r.half === "B");
  // Positives: answerable questions the pipeline answers citing the gold passage; negatives:
  // unanswerable questions it answers anyway. Questions it already abstains on teach nothing.
  const train = A.filter((r) => r.features && !r.abstained && (r.kind === "unanswerable" || r.goldCited));
  const fitted = fitLogistic(
    train.map((r) => names.map((n) => r.features![n]!)),
    train.map((r) => (r.kind === "answerable" ? 1 : 0)),
  );
  const model: AnswerabilityModel = { features: names, ...fitted, threshold: 0, fittedOn: "" };
  const score = (r: Row) => (r.features ? answerabilityScore(r.features, model) : 0);

  // The bar: the lowest that abstains on at least --min-abstain of half A's unanswerable questions.
  const minAbstain = Number(args["min-abstain"]);
  const bars = [...new Set(A.map(score))].sort((a, b) => a - b);
  let bar = 1;
  for (const candidate of bars) {
    const o = outcome(A, score, candidate);
    if (o.abstained / o.unanswerable >= minAbstain) {
      bar = candidate;
      break;
    }
  }
  bar = Math.round(bar * 1000) / 1000;
  model.threshold = bar;
  const commit = execSync("git rev-parse --short HEAD").toString().trim();
  model.fittedOn = `ClapNQ dev half A (${train.length} questions), ${new Date().toISOString().slice(0, 10)}, commit ${commit}`;

  const none = (rs: Row[]) => outcome(rs, () => 1, 0);
  const show = (label: string, o: ReturnType<typeof outcome>) =>
    console.log(
      `| ${label} | ${o.answeredGold}/${o.answerable} = ${pct(o.answeredGold, o.answerable)} | ${pct(o.answered, o.answerable)} | ${o.abstained}/${o.unanswerable} = ${pct(o.abstained, o.unanswerable)} |`,
    );
  console.log(`\nAnswerability judge: ${names.length} features, fitted on half A (${train.length} rows), bar ${bar}\n`);
  console.log(
    "| run | answerable: answered, gold cited (goal >= 80%) | answered at all | unanswerable: abstained (goal >= 90%) |",
  );
  console.log("|---|---|---|---|");
  show("no judge, half A", none(A));
  show("no judge, half B", none(B));
  show(`judge, half A (fitted)`, outcome(A, score, bar));
  show(`**judge, half B (held out)**`, outcome(B, score, bar));
  for (const target of [0.8, 0.85, 0.9, 0.95]) {
    // The trade-off on B alone, for the README: answered-with-gold at a given abstention on B.
    const sorted = [...new Set(B.map(score))].sort((a, b) => a - b);
    const b =
      sorted.find((c) => {
        const o = outcome(B, score, c);
        return o.abstained / o.unanswerable >= target;
      }) ?? 1;
    const o = outcome(B, score, b);
    console.log(
      `  half B at >= ${target * 100}% abstained: ${pct(o.answeredGold, o.answerable)} answered with gold cited (bar ${b.toFixed(3)})`,
    );
  }
  const pos = B.filter((r) => r.kind === "answerable" && r.goldCited && !r.abstained).map(score);
  const neg = B.filter((r) => r.kind === "unanswerable" && !r.abstained).map(score);
  console.log(`  half B ROC AUC (gold-cited answerable vs answered unanswerable): ${auc(pos, neg).toFixed(3)}`);
  console.log("\nweights (standardised):");
  names
    .map((n, j) => [n, fitted.weights[j]!] as const)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
    .forEach(([n, w]) => {
      console.log(`  ${n.padEnd(16)} ${w.toFixed(3)}`);
    });

  if (args.write) {
    const r = (xs: number[]) => `[${xs.map((x) => Number(x.toPrecision(6))).join(", ")}]`;
    writeFileSync(
      MODEL_FILE,
      `import type { AnswerabilityModel } from "./types.js";

// Written by \`npm run bench:answerability -- --write\`; do not edit by hand.
export const ANSWERABILITY_MODEL: AnswerabilityModel = {
  features: ${JSON.stringify(names)},
  mean: ${r(fitted.mean)},
  scale: ${r(fitted.scale)},
  weights: ${r(fitted.weights)},
  bias: ${Number(fitted.bias.toPrecision(6))},
  threshold: ${bar},
  fittedOn: ${JSON.stringify(model.fittedOn)},
};
`,
    );
    console.log(`\nwrote ${MODEL_FILE}`);
  }
}

await main();
