import { statSync, writeFileSync } from "node:fs";
import { basename, relative, resolve } from "node:path";
import { answerQuestion, type AnswerDeps, type AnswerInput } from "../../pipelines/answer/ask.js";
import { answerContainsAny } from "../../pipelines/eval/answer-metrics.js";
import { stripMarkers } from "../../pipelines/generate/answer-text.js";
import { EvalInputError } from "../../pipelines/eval/beir.js";
import { meanOf, mrrAt, ndcgAt, percentile, recallAt } from "../../pipelines/eval/metrics.js";
import {
  compareToBaseline,
  currentCommit,
  fmt,
  readBaseline,
  writeReport,
  type EvalReport,
  type Figures,
} from "../../pipelines/eval/report.js";
import { readSuite, type SuiteItem } from "../../pipelines/eval/suite.js";
import { indexFile } from "../../pipelines/ingest/index-file.js";
import { formatForPath } from "../../pipelines/parse/index.js";
import { fusionFor } from "../../pipelines/retrieve/hybrid.js";
import type { QueryMetrics, RetrievedSource } from "../../schemas/api.js";
import { createAnswerers } from "../common/answerers.js";
import { answerDepsOf } from "../common/answer-deps.js";
import { createCoreDeps, ingestDepsOf, type CoreDeps } from "../common/deps.js";
import { createLogger } from "../common/log.js";
import { createProgress } from "../common/progress.js";
import { walk } from "../common/walk.js";
import type { EvalArgs, EvalConfig, Io } from "./eval-types.js";

const RAGAS = [
  "faithfulness",
  "answerRelevancy",
  "contextPrecision",
  "contextUtilisation",
  "contextRecall",
  "answerCorrectness",
] as const;

interface ItemResult {
  id: string;
  answerable: boolean;
  abstained: boolean;
  ranking: string[];
  recallK: number | null;
  mrr10: number | null;
  ndcg10: number | null;
  metrics: Partial<QueryMetrics> | null;
  /** Whether the answer holds one of the item's `answer_any` strings; null when it lists none. */
  answerContains: boolean | null;
  answer: string;
  ms: number;
}

/** Runs a suite through /ask's answer path (retrieval, re-ranking, generation, verification, metrics). */
export async function runSuite(args: EvalArgs, config: EvalConfig, io: Io): Promise<number> {
  const items = readSuite(args.suite!);
  const baseline = args.baseline ? readBaseline(args.baseline) : undefined;
  const log = createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL, { service: "eval" });
  const t0 = performance.now();
  const core = await createCoreDeps(config, log);
  try {
    if (core.runtime.current().mismatch) {
      throw new EvalInputError(
        "the index was built with another embedder than EMBEDDING_MODEL names; run npm run reindex first",
      );
    }
    const ingestSeconds = args.ingest ? await ingest(core, resolve(args.ingest), config, io) : 0;
    // One run per answer prompt version (--prompt-version v1,v2), side by side at the end.
    const versions = args.promptVersions?.length ? args.promptVersions : [config.PROMPT_VERSION];
    const runs: Array<{ version: string; figures: Figures; code: number }> = [];
    for (const version of versions) {
      const named =
        versions.length > 1
          ? { ...args, name: `${args.name ?? basename(args.suite!).replace(/\.jsonl$/i, "")}-${version}` }
          : args;
      if (versions.length > 1) {
        io.out(`prompt version ${version}:`);
      }
      runs.push({
        version,
        ...(await runVersion(
          named,
          { ...config, PROMPT_VERSION: version },
          core,
          items,
          baseline,
          log,
          io,
          t0,
          ingestSeconds,
        )),
      });
    }
    if (runs.length > 1) {
      printSideBySide(io, runs, args.k);
    }
    return Math.max(...runs.map((r) => r.code));
  } finally {
    await core.close();
  }
}

/** The suite under one configuration (one answer prompt version): answers, figures, report, gate. */
async function runVersion(
  args: EvalArgs,
  config: EvalConfig,
  core: CoreDeps,
  items: SuiteItem[],
  baseline: ReturnType<typeof readBaseline> | undefined,
  log: ReturnType<typeof createLogger>,
  io: Io,
  t0: number,
  ingestSeconds: number,
): Promise<{ figures: Figures; code: number }> {
  const { generator, reranker } = await createAnswerers(config, log);
  // One served index for the whole run: every question is answered from the same generation.
  const served = core.runtime.current();
  const fusion = fusionFor(served.generation, served.embedder.identity.provider, config.DENSE_WEIGHT);
  // The deps POST /ask answers with (its answerability judge and its answer guard included): a suite
  // that skipped either would measure another path than the one users get.
  const deps: AnswerDeps = answerDepsOf(core, served, config, { generator, reranker });
  const t1 = performance.now();
  const progress = createProgress({ label: `eval ${basename(args.suite!)}`, total: items.length });
  const results: ItemResult[] = [];
  for (const item of items) {
    results.push(await askOne(deps, item, args.k));
    progress.tick();
  }
  progress.done();
  const t2 = performance.now();
  await generator.close?.();

  const figures = suiteFigures(results, args.k);
  const name = args.name ?? basename(args.suite!).replace(/\.jsonl$/i, "");
  const gate = baseline ? compareToBaseline(figures, baseline, args.tolerance) : undefined;
  const report: EvalReport = {
    kind: "suite",
    name,
    commit: currentCommit(),
    date: new Date().toISOString(),
    settings: {
      suite: args.suite,
      questions: items.length,
      k: args.k,
      embedder: served.generation.embedderKey,
      generation: served.generation.id,
      generator: generator.name,
      prompt: generator.promptVersion ?? "none (the extractive generator sends no prompt)",
      reranker: reranker.name,
      fusion: `dense ${fusion.denseWeight}, document blend ${fusion.documentWeight ?? "store default"} (${fusion.source})`,
      verify: `${config.VERIFY_MODE}, min supported ${config.VERIFY_MIN_SUPPORTED}`,
    },
    timings: { ingest: secs(ingestSeconds * 1000), questions: secs(t2 - t1), total: secs(t2 - t0) },
    figures,
    sections: [{ title: "Questions", markdown: questionTable(results, args.k) }],
    details: results,
    ...(gate && { baseline: { ...gate, file: args.baseline! } }),
  };
  const paths = writeReport(args.out, report);
  if (args.saveBaseline) {
    writeFileSync(args.saveBaseline, `${JSON.stringify(report, null, 2)}\n`);
  }
  io.out(`suite ${args.suite}: ${items.length} questions, fusion dense ${fusion.denseWeight} (${fusion.source})`);
  printFigures(io, figures, args.k);
  io.out(`report: ${paths.md} ${paths.json} ${paths.svg}`);
  return { figures, code: gateVerdict(io, gate, args.baseline) };
}

/** Each figure under each prompt version, in columns. */
function printSideBySide(io: Io, runs: Array<{ version: string; figures: Figures }>, k: number) {
  io.out("");
  io.out(["figure", ...runs.map((r) => `answer/${r.version}`)].join("\t"));
  for (const key of Object.keys(runs[0]!.figures)) {
    const cells = runs.map((r) =>
      key.startsWith("latency") ? fmt(r.figures[key] ?? null, 1) : fmt(r.figures[key] ?? null),
    );
    io.out([key === `recall@${k}` ? `Recall@${k}` : key, ...cells].join("\t"));
  }
}

/** Ingests every supported file under `root` through the worker's own indexFile, one after another. */
async function ingest(core: CoreDeps, root: string, config: EvalConfig, io: Io): Promise<number> {
  const t0 = performance.now();
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new EvalInputError(`--ingest ${root}: not a folder`);
  }
  const files: string[] = [];
  for await (const abs of walk(root, () => {})) {
    if (formatForPath(abs) !== null) {
      files.push(relative(root, abs).split("\\").join("/"));
    }
  }
  if (files.length === 0) {
    throw new EvalInputError(`--ingest ${root}: no Markdown, HTML, text or PDF files`);
  }
  const sourceId = await core.catalog.upsertSource(root, config.COLLECTION);
  const progress = createProgress({ label: `ingest ${basename(root)}`, total: files.length });
  let failed = 0;
  for (const path of files.sort()) {
    const outcome = await indexFile(ingestDepsOf(core, core.runtime.current(), config.MAX_FILE_BYTES), {
      sourceId,
      root,
      collection: config.COLLECTION,
      path,
    });
    if (outcome.status === "failed") {
      failed++;
      io.err(`  ${path}: ${outcome.code}: ${outcome.message}`);
    }
    progress.tick(1, path);
  }
  progress.done(`${files.length} files, ${failed} failed`);
  return (performance.now() - t0) / 1000;
}

async function askOne(deps: AnswerDeps, item: SuiteItem, k: number): Promise<ItemResult> {
  let sources: RetrievedSource[] = [];
  const input = {
    question: item.question,
    topK: k,
    ...(item.reference !== undefined && { reference: item.reference }),
  } as AnswerInput;
  const t0 = performance.now();
  const response = await answerQuestion(deps, input, {
    onSources: (s) => {
      sources = s;
    },
  });
  const ms = performance.now() - t0;
  // A relevant entry names a path relative to its source root, or a document id.
  const wanted = new Set(item.relevant);
  const ranking: string[] = [];
  for (const s of sources) {
    const key = wanted.has(s.documentId) ? s.documentId : s.path;
    if (!ranking.includes(key)) {
      ranking.push(key);
    }
  }
  const judged = new Map(item.relevant.map((r) => [r, 1]));
  const metrics = (response as { metrics?: Partial<QueryMetrics> }).metrics ?? null;
  return {
    id: item.id,
    answerable: item.answerable,
    abstained: response.abstained,
    ranking,
    recallK: recallAt(ranking, judged, k),
    mrr10: mrrAt(ranking, judged, 10),
    ndcg10: ndcgAt(ranking, judged, 10),
    metrics,
    answerContains: item.answer_any
      ? !response.abstained && answerContainsAny(stripMarkers(response.answer), item.answer_any)
      : null,
    answer: response.answer,
    ms,
  };
}

/** The suite's headline figures (means over the questions each applies to). */
export function suiteFigures(results: ItemResult[], k: number): Figures {
  const figures: Figures = {
    [`recall@${k}`]: meanOf(results.map((r) => r.recallK)),
    "mrr@10": meanOf(results.map((r) => r.mrr10)),
    "ndcg@10": meanOf(results.map((r) => r.ndcg10)),
  };
  for (const m of RAGAS) {
    figures[m] = meanOf(results.map((r) => r.metrics?.[m] ?? null));
  }
  // Right when an answerable question is answered and an unanswerable one abstained.
  figures.abstentionAccuracy = meanOf(results.map((r) => (r.answerable !== r.abstained ? 1 : 0)));
  figures.answeredWhenAnswerable = meanOf(results.filter((r) => r.answerable).map((r) => (r.abstained ? 0 : 1)));
  figures.abstainedWhenUnanswerable = meanOf(results.filter((r) => !r.answerable).map((r) => (r.abstained ? 1 : 0)));
  // Only suites with `answer_any` have it; a baseline that has it gates it like any quality figure.
  const contains = meanOf(results.map((r) => (r.answerContains === null ? null : r.answerContains ? 1 : 0)));
  if (contains !== null) {
    figures.answerContains = contains;
  }
  const ms = results.map((r) => r.ms);
  figures.latencyP50Ms = percentile(ms, 0.5);
  figures.latencyP95Ms = percentile(ms, 0.95);
  figures.latencyP99Ms = percentile(ms, 0.99);
  return figures;
}

export function printFigures(io: Io, figures: Figures, k: number) {
  const label: Record<string, string> = {
    [`recall@${k}`]: `Recall@${k}`,
    "recall@100": "Recall@100",
    "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10",
  };
  for (const [key, v] of Object.entries(figures)) {
    io.out(`${label[key] ?? key} ${key.startsWith("latency") ? fmt(v, 1) : fmt(v)}`);
  }
}

export function gateVerdict(io: Io, gate: ReturnType<typeof compareToBaseline> | undefined, file?: string): number {
  if (!gate) {
    return 0;
  }
  if (gate.regressions.length === 0) {
    io.out(`baseline ${file}: no figure fell more than ${gate.tolerance}`);
    return 0;
  }
  for (const r of gate.regressions) {
    io.err(
      `REGRESSION ${r.metric}: ${fmt(r.current)} vs baseline ${fmt(r.baseline)}, fell ${fmt(r.drop)} (tolerance ${gate.tolerance})`,
    );
  }
  return 1;
}

function questionTable(results: ItemResult[], k: number): string {
  const rows = results.map(
    (r) =>
      `| ${r.id} | ${r.answerable ? "yes" : "no"} | ${r.abstained ? "yes" : "no"} | ${r.answerContains === null ? "" : r.answerContains ? "yes" : "no"} | ${fmt(r.recallK, 2)} | ${fmt(r.ndcg10, 2)} | ${fmt(r.metrics?.faithfulness ?? null, 2)} | ${Math.round(r.ms)} |`,
  );
  return [
    `| id | answerable | abstained | answer contains | recall@${k} | nDCG@10 | faithfulness | ms |`,
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

const secs = (ms: number) => Math.round(ms / 100) / 10;
