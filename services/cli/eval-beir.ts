import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { sql } from "drizzle-orm";
import { createEmbedder, embedderKey } from "../../pipelines/embed/index.js";
import { readBeir, readQrels, EvalInputError, type BeirDataset } from "../../pipelines/eval/beir.js";
import {
  beirIndexKey,
  buildBeirIndex,
  MARKER,
  readMarker,
  type BeirIndexMarker,
  type PhaseProgress,
} from "../../pipelines/eval/beir-index.js";
import {
  collectCandidates,
  latencyOf,
  scoreRun,
  type ChunkTexts,
  type QueryCandidates,
} from "../../pipelines/eval/beir-run.js";
import { fitFusion, sweepRerankPrior, DOCUMENT_WEIGHT_GRID, type FitResult } from "../../pipelines/eval/fit.js";
import {
  compareToBaseline,
  currentCommit,
  fmt,
  readBaseline,
  writeReport,
  type EvalReport,
  type Figures,
} from "../../pipelines/eval/report.js";
import { embedCached, sha256 } from "../../pipelines/eval/vector-cache.js";
import { createReranker } from "../../pipelines/rerank/index.js";
import { DEFAULT_LEXICAL } from "../../pipelines/store/bm25-postings.js";
import { fusionFor } from "../../pipelines/retrieve/hybrid.js";
import { queryRows } from "../../pipelines/store/database.js";
import { chunkerFor } from "../common/index-runtime.js";
import { createCoreDeps, embedderConfig, type CoreDeps } from "../common/deps.js";
import { createLogger } from "../common/log.js";
import { headingPathOf } from "../../pipelines/store/chunk-row.js";
import { createProgress } from "../common/progress.js";
import type { EvalArgs, EvalConfig, Io } from "./eval-types.js";
import { gateVerdict, printFigures } from "./eval-suite.js";

// /ask re-ranks 3 × topK candidates (pipelines/answer/ask.ts); with the 10 of nDCG@10 that is 30.
const RERANK_POOL = 30;

const progress: PhaseProgress = (label, total) => createProgress({ label, total });

/**
 * BEIR retrieval: index the corpus into its own data directory (or reuse it), optionally fit the
 * fusion weights on this split and store them on the generation, then score the split's queries
 * with the weights in use.
 */
export async function runBeir(args: EvalArgs, config: EvalConfig, io: Io): Promise<number> {
  const t0 = performance.now();
  const dataset = readBeir(args.beir!);
  const qrelsAll = readQrels(args.beir!, args.split);
  const queryIds = [...qrelsAll.keys()].filter((q) => dataset.queries.has(q)).slice(0, args.limit);
  if (queryIds.length === 0) {
    throw new EvalInputError(`no query of qrels/${args.split}.tsv is in queries.jsonl`);
  }
  const qrels = new Map(queryIds.map((q) => [q, qrelsAll.get(q)!]));
  const baseline = args.baseline ? readBaseline(args.baseline) : undefined;
  const log = createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL, { service: "eval" });

  // Bulk embedding is the slow part: one model thread per core unless EMBEDDING_THREADS says otherwise.
  const embedder = await createEmbedder({
    ...embedderConfig(config),
    threads: config.EMBEDDING_THREADS ?? availableParallelism(),
  });
  try {
    const key = beirIndexKey(embedder, await chunkerFor(embedder, config.CHUNKER), dataset);
    const dataDir = resolve(
      args.dataDir ?? join("data", "eval", `${dataset.name}-${sha256(embedderKey(embedder.identity)).slice(0, 12)}`),
    );
    const cacheDir = join(dirname(dataDir), "vectors");
    const marker = prepareDataDir(dataDir, key);
    const core = await createCoreDeps(
      { ...config, DATA_DIR: dataDir, DATABASE_URL: undefined, QDRANT_URL: undefined },
      log,
      { embedder },
    );
    try {
      // This process's own data directory: nothing re-indexes it while the eval runs.
      let served = core.runtime.current();
      const built: BeirIndexMarker =
        marker ??
        (await buildBeirIndex(
          {
            db: core.database.db,
            catalog: core.catalog,
            store: core.store,
            embedder,
            chunker: served.chunker,
            countTokens: (t) => core.tokenizer.count(t),
            generationId: served.generation.id,
          },
          dataset,
          { dataDir, cacheDir, key, progress },
        ));
      io.out(
        `${marker ? "reusing" : "built"} ${dataDir}: ${built.documents} documents, ${built.chunks} chunks, generation ${served.generation.id} (${built.embedder})`,
      );
      const t1 = performance.now();
      const questions = queryIds.map((q) => dataset.queries.get(q)!);
      const vectors = await embedCached(embedder, questions, { dir: cacheDir, name: dataset.name });
      const queries = queryIds.map((id, i) => ({
        id,
        text: questions[i]!,
        vector: Array.from(vectors.get(sha256(questions[i]!))!),
      }));
      const t2 = performance.now();

      let fit: FitResult | undefined;
      if (args.fit) {
        fit = await fitOnSplit(core, served.generation.id, dataset, args, queries, qrels);
        // The generation row now carries the fitted weights.
        served = await core.runtime.refresh();
        io.out(
          `fitted on ${fit.fusion.fittedOn}: dense weight ${fit.fusion.denseWeight}, document blend ${fit.fusion.documentWeight} ` +
            `(train nDCG@10 ${fmt(fit.fusion.ndcg10)}; best single retriever ${fit.fusion.bestSingle.retriever} ${fmt(fit.fusion.bestSingle.ndcg10)}); stored on generation ${served.generation.id}`,
        );
      }
      const t3 = performance.now();
      const fusion = fusionFor(served.generation, embedder.identity.provider, config.DENSE_WEIGHT);
      const documentWeight = fusion.documentWeight ?? DEFAULT_LEXICAL.documentWeight;
      // Searched afresh even after a fit, so the latency figures time both retrievers together.
      const candidates = await collectCandidates({ store: core.store, generationId: served.generation.id }, queries, {
        candidates: args.candidates,
        documentWeight,
        progress,
        label: `search ${args.split}`,
      });
      const t4 = performance.now();
      const hybrid = await scoreRun(candidates, qrels, { denseWeight: fusion.denseWeight });
      const lexical = await scoreRun(candidates, qrels, { denseWeight: 0 });
      const dense = await scoreRun(candidates, qrels, { denseWeight: 1 });
      const reranker = await createReranker(config.RERANKER);
      const texts = reranker.name === "none" ? new Map() : await chunkTexts(core, served.generation.id);
      const reranked =
        reranker.name === "none"
          ? null
          : await scoreRun(candidates, qrels, {
              denseWeight: fusion.denseWeight,
              rerank: { reranker, pool: RERANK_POOL, texts },
            });
      await reranker.close?.();
      const priorSweep =
        fit && reranker.name === "lexical"
          ? await sweepRerankPrior(candidates, qrels, { denseWeight: fusion.denseWeight, pool: RERANK_POOL, texts })
          : undefined;
      const latency = latencyOf(candidates);
      const t5 = performance.now();

      const figures: Figures = {
        "ndcg@10": hybrid.ndcg10,
        "recall@100": hybrid.recall100,
        "mrr@10": hybrid.mrr10,
        ...(reranked && { "ndcg@10 reranked": reranked.ndcg10, "recall@100 reranked": reranked.recall100 }),
        "ndcg@10 lexical only": lexical.ndcg10,
        "ndcg@10 dense only": dense.ndcg10,
        latencyP50Ms: latency.p50,
        latencyP95Ms: latency.p95,
        latencyP99Ms: latency.p99,
      };
      const weights = `dense ${fusion.denseWeight}, document blend ${documentWeight} (${fusion.source === "fitted" ? `fitted on ${served.generation.fusion!.fittedOn}` : fusion.source})`;
      const name = args.name ?? `${dataset.name}-${args.split}${args.limit ? `-${args.limit}` : ""}`;
      const gate = baseline ? compareToBaseline(figures, baseline, args.tolerance) : undefined;
      const published = publishedBaselines(dataset);
      const report: EvalReport = {
        kind: "beir",
        name,
        commit: currentCommit(),
        date: new Date().toISOString(),
        settings: {
          corpus: `${dataset.name} (${dataset.corpus.length} documents, ${built.chunks} chunks)`,
          split: `${args.split} (${queryIds.length} queries, ${[...qrels.values()].reduce((n, m) => n + m.size, 0)} judgements)`,
          embedder: built.embedder,
          chunker: built.chunker,
          "fusion weights in use": weights,
          retrieval: `min-max fusion of ${args.candidates} candidates a side (dense: the generation's HNSW index with ef_search = candidates, as /ask), best chunk per document`,
          bm25: `k1 ${DEFAULT_LEXICAL.k1}, b ${DEFAULT_LEXICAL.b}, Porter, Lucene stop words and length rounding`,
          reranker: reranked
            ? `${reranker.name} over the first ${RERANK_POOL} fused chunks, as /ask re-ranks 3 × topK`
            : "none",
          dataDir: relative(process.cwd(), dataDir) || ".",
          machine: `${availableParallelism()} cores (shared)`,
        },
        timings: {
          // A reused index reports the build that made it, so a report always says what indexing cost.
          ...Object.fromEntries(
            Object.entries(built.seconds).map(([k, v]) => [
              `index ${k}${marker ? ` (built ${built.builtAt.slice(0, 16)}, reused)` : ""}`,
              v,
            ]),
          ),
          "embed queries": secs(t2 - t1),
          ...(fit && { fit: secs(t3 - t2) }),
          search: secs(t4 - t3),
          "score runs": secs(t5 - t4),
          total: secs(t5 - t0),
        },
        figures,
        sections: [
          ...(published.length > 0
            ? [{ title: "Published baselines (nDCG@10)", markdown: publishedTable(published, figures) }]
            : []),
          ...(fit ? [{ title: `Fusion fit on ${fit.fusion.fittedOn}`, markdown: fitTable(fit) }] : []),
          ...(priorSweep
            ? [
                {
                  title: `Lexical reranker prior weight on ${args.split} (first ${RERANK_POOL} fused chunks)`,
                  markdown: [
                    "| prior weight | nDCG@10 |",
                    "|---|---|",
                    ...priorSweep.map((p) => `| ${p.priorWeight} | ${fmt(p.ndcg10)} |`),
                  ].join("\n"),
                },
              ]
            : []),
        ],
        details: { fit, priorSweep, published, fusion, latencyMs: latency, marker: built },
        ...(gate && { baseline: { ...gate, file: args.baseline! } }),
      };
      const paths = writeReport(args.out, report);
      if (args.saveBaseline) {
        writeFileSync(args.saveBaseline, `${JSON.stringify(report, null, 2)}\n`);
      }
      io.out(`${dataset.name} ${args.split}: ${queryIds.length} queries; fusion weights in use: ${weights}`);
      printFigures(io, figures, 10);
      io.out(`report: ${paths.md} ${paths.json} ${paths.svg}`);
      return gateVerdict(io, gate, args.baseline);
    } finally {
      await core.close();
    }
  } finally {
    await embedder.close();
  }
}

/**
 * A data directory is reused only when the marker the eval wrote says it holds this corpus under
 * this embedder and chunker; one it built for something else is rebuilt, and one it did not build
 * is left alone.
 */
function prepareDataDir(dataDir: string, key: string): BeirIndexMarker | null {
  const marker = readMarker(dataDir);
  if (marker?.key === key) {
    return marker;
  }
  if (marker) {
    rmSync(join(dataDir, "pglite"), { recursive: true, force: true });
    rmSync(join(dataDir, MARKER), { force: true });
    return null;
  }
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new EvalInputError(
      `--data-dir ${dataDir} is not empty and was not built by the eval; give an empty or new folder`,
    );
  }
  return null;
}

async function fitOnSplit(
  core: CoreDeps,
  generationId: number,
  dataset: BeirDataset,
  args: EvalArgs,
  queries: Array<{ id: string; text: string; vector: number[] }>,
  qrels: Map<string, Map<string, number>>,
): Promise<FitResult> {
  const deps = { store: core.store, generationId };
  const byWeight = new Map<number, Map<string, QueryCandidates>>();
  let dense: Map<string, QueryCandidates> | undefined;
  for (const w of DOCUMENT_WEIGHT_GRID) {
    // The dense side does not depend on the document blend: searched once, shared.
    const lists = await collectCandidates(deps, queries, {
      candidates: args.candidates,
      documentWeight: w,
      progress,
      label: `fit: search, document blend ${w}`,
      dense: !dense,
    });
    if (dense) {
      for (const [q, c] of lists) {
        c.dense = dense.get(q)!.dense;
      }
    }
    dense ??= lists;
    byWeight.set(w, lists);
  }
  const fit = await fitFusion(byWeight, qrels, {
    fittedOn: `${dataset.name}/${args.split} (${queries.length} queries)`,
    candidates: args.candidates,
  });
  await core.catalog.setGenerationFusion(generationId, fit.fusion);
  return fit;
}

async function chunkTexts(core: CoreDeps, generationId: number): Promise<ChunkTexts> {
  const rows = await queryRows<{ id: string; text: string; heading_path: string[] | string }>(
    core.database.db,
    sql`SELECT id, text, heading_path FROM chunks WHERE generation_id = ${generationId}`,
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        text: r.text,
        headingPath: headingPathOf(r.heading_path),
      },
    ]),
  );
}

/**
 * Published nDCG@10 figures, from a README in the BEIR folder or the section about it in the README
 * beside it: a line such as "Published nDCG@10 on test: BM25 0.679, bge-small-en-v1.5 0.713".
 */
export function publishedBaselines(dataset: BeirDataset): Array<{ system: string; ndcg10: number }> {
  const candidates = [
    ...readdirSync(dataset.folder)
      .filter((f) => /^readme/i.test(f))
      .map((f) => join(dataset.folder, f)),
    join(dirname(dataset.folder), "README.md"),
  ];
  for (const file of candidates) {
    if (!existsSync(file)) {
      continue;
    }
    let text = readFileSync(file, "utf8");
    const section = text.indexOf(`## ${dataset.name}/`);
    if (section >= 0) {
      text = text.slice(section, text.indexOf("\n## ", section + 3) >>> 0 || undefined);
    }
    const m = /Published nDCG@10[^:]*:([\s\S]*?)(?:\n-|\n\n|$)/.exec(text);
    if (!m) {
      continue;
    }
    return [...m[1]!.replace(/\s+/g, " ").matchAll(/\s*((?:[^,(]|\([^)]*\))+?)\s+(0\.\d+)/g)].map((x) => ({
      system: x[1]!.trim(),
      ndcg10: Number(x[2]),
    }));
  }
  return [];
}

function publishedTable(published: Array<{ system: string; ndcg10: number }>, figures: Figures): string {
  const ours = [
    { system: "**this run: hybrid retrieval**", ndcg10: figures["ndcg@10"] },
    ...(figures["ndcg@10 reranked"] != null
      ? [{ system: "**this run: hybrid + /ask's lexical reranker**", ndcg10: figures["ndcg@10 reranked"] }]
      : []),
    { system: "this run: BM25 alone (store)", ndcg10: figures["ndcg@10 lexical only"] },
    { system: "this run: USE-Lite dense alone", ndcg10: figures["ndcg@10 dense only"] },
  ];
  return [
    "| system | nDCG@10 |",
    "|---|---|",
    ...[...published, ...ours].map((p) => `| ${p.system} | ${fmt(p.ndcg10 ?? null, 3)} |`),
  ].join("\n");
}

function fitTable(fit: FitResult): string {
  const docWeights = [...new Set(fit.grid.map((c) => c.documentWeight))];
  const denseWeights = [...new Set(fit.grid.map((c) => c.denseWeight))];
  const cell = (d: number, w: number) =>
    fmt(fit.grid.find((c) => c.documentWeight === d && c.denseWeight === w)?.ndcg10 ?? null);
  return [
    `nDCG@10 by document blend (rows) and dense weight (columns); chosen: document blend ${fit.fusion.documentWeight}, dense ${fit.fusion.denseWeight} (${fmt(fit.fusion.ndcg10)}), best single retriever: ${fit.fusion.bestSingle.retriever} ${fmt(fit.fusion.bestSingle.ndcg10)}.`,
    "",
    `| blend | ${denseWeights.join(" | ")} |`,
    `|---|${denseWeights.map(() => "---").join("|")}|`,
    ...docWeights.map((d) => `| ${d} | ${denseWeights.map((w) => cell(d, w)).join(" | ")} |`),
  ].join("\n");
}

const secs = (ms: number) => Math.round(ms / 100) / 10;
