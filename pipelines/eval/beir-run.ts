import type { Reranker } from "../rerank/types.js";
import { minMaxFusion } from "../retrieve/hybrid.js";
import type { ChunkHit, VectorStore } from "../store/types.js";
import type { PhaseProgress } from "./beir-index.js";
import { evaluateRun, percentile, rankByScore, type Qrels, type RetrievalFigures } from "./metrics.js";

/** A retrieved chunk reduced to what ranking documents needs (a fit holds thousands per query). */
export interface LightHit {
  chunkId: string;
  /** The document's path in its source: the BEIR document id. */
  doc: string;
  score: number;
}

export interface QueryCandidates {
  question: string;
  dense: LightHit[];
  lexical: LightHit[];
  /** Store time for both searches, milliseconds (the query vector comes from the cache). */
  ms: number;
}

const light = (h: ChunkHit): LightHit => ({ chunkId: h.chunkId, doc: h.path, score: h.score });

/** Both retrievers' candidates for each query, from the store exactly as /ask searches it. */
export async function collectCandidates(
  deps: { store: VectorStore; generationId: number },
  queries: ReadonlyArray<{ id: string; text: string; vector: number[] }>,
  opts: {
    candidates: number;
    documentWeight?: number | undefined;
    progress: PhaseProgress;
    label: string;
    dense?: boolean;
  },
): Promise<Map<string, QueryCandidates>> {
  const out = new Map<string, QueryCandidates>();
  const search = { generationId: deps.generationId, topK: opts.candidates, documentWeight: opts.documentWeight };
  const bar = opts.progress(opts.label, queries.length);
  for (const q of queries) {
    const t0 = performance.now();
    const [dense, lexical] = await Promise.all([
      opts.dense === false ? Promise.resolve([]) : deps.store.searchDense(q.vector, search),
      deps.store.searchLexical(q.text, search),
    ]);
    out.set(q.id, {
      question: q.text,
      dense: dense.map(light),
      lexical: lexical.map(light),
      ms: performance.now() - t0,
    });
    bar.tick();
  }
  bar.done();
  return out;
}

/** What the lexical reranker needs of a chunk beyond its id. */
export type ChunkTexts = ReadonlyMap<string, { text: string; headingPath: string[] }>;

export interface RankOptions {
  denseWeight: number;
  /** /ask's reranker over the first `pool` fused chunks (the rest keep their fused order). */
  rerank?: { reranker: Reranker; pool: number; texts: ChunkTexts } | undefined;
}

/**
 * Documents best first for one query: min-max fusion of the two candidate lists (the function
 * /ask's retrieve uses), optionally /ask's reranker over the head, then each document at its best
 * chunk. Near-duplicate removal is left out: it only drops a chunk that copies a better one, and in
 * a BEIR corpus each copy is a separately judged document.
 */
export async function rankDocuments(c: QueryCandidates, opts: RankOptions): Promise<string[]> {
  const docOf = new Map<string, string>();
  for (const h of [...c.dense, ...c.lexical]) {
    docOf.set(h.chunkId, h.doc);
  }
  const fused = [...minMaxFusion(toScored(c.dense), toScored(c.lexical), opts.denseWeight)]
    .map(([chunkId, score]) => ({ chunkId, doc: docOf.get(chunkId)!, score }))
    .sort((a, b) => b.score - a.score);
  let ordered: LightHit[] = fused;
  if (opts.rerank && fused.length > 1) {
    const { reranker, pool, texts } = opts.rerank;
    const head = fused.slice(0, pool).map((h) => asChunkHit(h, texts));
    const reranked = await reranker.rerank(c.question, head);
    ordered = [...reranked.map((h) => ({ chunkId: h.chunkId, doc: h.path, score: 0 })), ...fused.slice(pool)];
  }
  // Scores from here on are positions, so trec_eval's tie rule cannot reorder the reranked head.
  const best = new Map<string, number>();
  ordered.forEach((h, i) => {
    if (!best.has(h.doc)) {
      best.set(h.doc, ordered.length - i);
    }
  });
  return rankByScore(best, 1000);
}

const toScored = (hits: LightHit[]) => hits.map((h) => ({ id: h.chunkId, score: h.score }));

function asChunkHit(h: LightHit, texts: ChunkTexts): ChunkHit {
  const t = texts.get(h.chunkId);
  return {
    chunkId: h.chunkId,
    documentId: h.doc,
    sourceId: "",
    path: h.doc,
    collection: "",
    ordinal: 0,
    text: t?.text ?? "",
    page: null,
    headingPath: t?.headingPath ?? [],
    tokenCount: 0,
    score: h.score,
  };
}

/** Ranks every query and scores the run against the qrels. */
export async function scoreRun(
  candidates: ReadonlyMap<string, QueryCandidates>,
  qrels: Qrels,
  opts: RankOptions,
  k = 10,
): Promise<RetrievalFigures> {
  const run = new Map<string, string[]>();
  for (const [q, c] of candidates) {
    run.set(q, await rankDocuments(c, opts));
  }
  return evaluateRun(run, qrels, k);
}

export function latencyOf(candidates: ReadonlyMap<string, QueryCandidates>) {
  const ms = [...candidates.values()].map((c) => c.ms);
  const r = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return { p50: r(percentile(ms, 0.5)), p95: r(percentile(ms, 0.95)), p99: r(percentile(ms, 0.99)) };
}
