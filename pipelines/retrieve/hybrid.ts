import type { GenerationFusion } from "../../schemas/db.js";
import type { Embedder } from "../embed/types.js";
import type { ChunkHit, VectorStore } from "../store/types.js";

export interface RetrieveOptions {
  generationId: number;
  topK: number;
  collections?: string[] | undefined;
  /** Weight of the dense side in [0, 1]; the lexical side gets the rest. */
  denseWeight: number;
  /** Candidates fetched from each retriever before fusion. */
  candidates?: number;
  /** The store's document/chunk BM25 blend for this query (a generation's fitted one); the store's default when unset. */
  documentWeight?: number | undefined;
}

export interface RankedHit extends ChunkHit {
  dense: number | null;
  lexical: number | null;
}

/**
 * Fusion weights belong to the embedder, fitted on a train split and never on test. For USE-Lite,
 * `npm run bench:scifact` swept min-max fusion on SciFact train (809 queries, 50 candidates a
 * side as /ask fetches them, best chunk per document) over the store's BM25 (documentWeight 0.7):
 *
 *   dense weight     0       0.1     0.15    0.2     0.25    0.3     0.5     1 (dense only)
 *   train nDCG@10    0.6991  0.7013  0.7018  0.7022  0.6988  0.6946  0.6253  0.2831
 *
 * 0.2 is the best, and above BM25 alone (0.6995 with 1000 candidates). On test (300 queries) it
 * gives nDCG@10 0.6806 against BM25's 0.6815 and dense's 0.2509: USE-Lite adds next to nothing on
 * technical text; its place is paraphrased questions. Weighted RRF peaked at 0.7051 on train
 * (dense 0.05; test 0.6835), within noise of this, and would all but silence the dense side there.
 * Unknown embedders start at 0.5 until they are fitted.
 */
export function defaultDenseWeight(provider: string): number {
  return provider === "use-lite" ? 0.2 : 0.5;
}

/** The fusion weights a query uses, and where they came from (reported by the eval). */
export interface FusionInUse {
  denseWeight: number;
  documentWeight?: number | undefined;
  /** Candidates a side the weights were fitted at; min-max fusion's scale depends on the depth. */
  candidates?: number | undefined;
  source: "DENSE_WEIGHT" | "fitted" | "default";
}

/**
 * `DENSE_WEIGHT` when set, else the weights `npm run eval -- --fit` stored on the generation, else
 * the embedder's default: the weights in use are the ones measured for the embedder that built
 * the index. A fitted document blend applies even under `DENSE_WEIGHT`, which names only the dense side.
 */
export function fusionFor(
  generation: { fusion?: GenerationFusion | null },
  provider: string,
  denseOverride?: number,
): FusionInUse {
  const fitted = generation.fusion ?? null;
  const documentWeight = fitted?.documentWeight;
  if (denseOverride !== undefined) {
    return { denseWeight: denseOverride, documentWeight, source: "DENSE_WEIGHT" };
  }
  if (fitted) {
    return { denseWeight: fitted.denseWeight, documentWeight, candidates: fitted.candidates, source: "fitted" };
  }
  return { denseWeight: defaultDenseWeight(provider), source: "default" };
}

/** Dense + lexical retrieval, min-max normalised and fused by weight, near-duplicates removed. */
export async function retrieve(
  deps: { store: VectorStore; embedder: Pick<Embedder, "embed"> },
  question: string,
  opts: RetrieveOptions,
): Promise<RankedHit[]> {
  const n = opts.candidates ?? Math.max(50, opts.topK * 5);
  const search = {
    generationId: opts.generationId,
    topK: n,
    collections: opts.collections,
    documentWeight: opts.documentWeight,
  };
  // The lexical side needs no vector: it runs while the question is embedded.
  const lexicalHits = deps.store.searchLexical(question, search);
  const [dense, lexical] = await Promise.all([
    deps.embedder.embed([question]).then(([vector]) => deps.store.searchDense(vector!, search)),
    lexicalHits,
  ]);
  return dedupe(fuseHits(dense, lexical, opts.denseWeight), opts.topK);
}

/** Both retrievers' hits fused into one list, best first, before near-duplicates are dropped. */
export function fuseHits(dense: ChunkHit[], lexical: ChunkHit[], denseWeight: number): RankedHit[] {
  const byId = new Map<string, RankedHit>();
  for (const h of dense) {
    byId.set(h.chunkId, { ...h, dense: h.score, lexical: null });
  }
  for (const h of lexical) {
    const seen = byId.get(h.chunkId);
    if (seen) {
      seen.lexical = h.score;
    } else {
      byId.set(h.chunkId, { ...h, dense: null, lexical: h.score });
    }
  }
  const scores = minMaxFusion(
    dense.map((h) => ({ id: h.chunkId, score: h.score })),
    lexical.map((h) => ({ id: h.chunkId, score: h.score })),
    denseWeight,
  );
  // Sort is stable: equal scores keep dense order, then lexical order.
  return [...scores].map(([id, score]) => ({ ...byId.get(id)!, score })).sort((a, b) => b.score - a.score);
}

/** A retriever's result for fusion: an id and a score, higher is better. */
export interface Scored {
  id: string;
  score: number;
}

/**
 * Weighted min-max fusion: each list's scores are scaled to [0, 1] over the list, then summed with
 * weights `denseWeight` and `1 - denseWeight`; an id missing from a list gets 0 from it. Keeps the
 * score gaps that rank fusion throws away, which is what lets a weak dense retriever help BM25.
 */
export function minMaxFusion(dense: Scored[], lexical: Scored[], denseWeight: number): Map<string, number> {
  const out = new Map<string, number>();
  const add = (list: Scored[], weight: number) => {
    const n = minMax(list.map((h) => h.score));
    list.forEach((h, i) => {
      out.set(h.id, (out.get(h.id) ?? 0) + weight * n[i]!);
    });
  };
  add(dense, denseWeight);
  add(lexical, 1 - denseWeight);
  return out;
}

/** Weighted reciprocal rank fusion: Σ weight / (k + rank), ranks from 1 in each list's order. */
export function rrfFusion(dense: Scored[], lexical: Scored[], denseWeight: number, k = 60): Map<string, number> {
  const out = new Map<string, number>();
  const add = (list: Scored[], weight: number) =>
    list.forEach((h, i) => {
      out.set(h.id, (out.get(h.id) ?? 0) + weight / (k + i + 1));
    });
  add(dense, denseWeight);
  add(lexical, 1 - denseWeight);
  return out;
}

function minMax(xs: number[]): number[] {
  if (xs.length === 0) {
    return [];
  }
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return xs.map((x) => (hi > lo ? (x - lo) / (hi - lo) : 1));
}

const wordSet = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);

/** Drops chunks whose words mostly repeat a better-ranked chunk (copies of a file, boilerplate). */
function dedupe(hits: RankedHit[], k: number, threshold = 0.9): RankedHit[] {
  const kept: Array<{ hit: RankedHit; words: Set<string> }> = [];
  for (const hit of hits) {
    if (kept.length >= k) {
      break;
    }
    const words = wordSet(hit.text);
    const dup = kept.some(({ words: w }) => jaccard(w, words) >= threshold);
    if (!dup) {
      kept.push({ hit, words });
    }
  }
  return kept.map((k) => k.hit);
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) {
    return 1;
  }
  let inter = 0;
  for (const x of a) {
    if (b.has(x)) {
      inter++;
    }
  }
  return inter / (a.size + b.size - inter);
}
