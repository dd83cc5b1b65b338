import type { ChunkHit } from "../store/types.js";

/** A candidate after re-ranking: `score` is the reranker's, `retrievalScore` the fused retrieval score. */
export interface RerankedHit extends ChunkHit {
  retrievalScore: number;
}

/**
 * Re-orders retrieved candidates, best first, before they are packed into the context.
 * @example
 *   const ranked = await reranker.rerank(question, hits);
 */
export interface Reranker {
  readonly name: string;
  rerank(question: string, hits: ChunkHit[]): Promise<RerankedHit[]>;
  close?(): Promise<void>;
}

/** Min-max scaled retrieval scores, the prior every reranker here mixes in; equal scores fall back to rank. */
export function retrievalPrior(hits: ChunkHit[]): number[] {
  const scores = hits.map((h) => h.score);
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  if (hi > lo) {
    return scores.map((s) => (s - lo) / (hi - lo));
  }
  return hits.map((_, i) => (hits.length > 1 ? 1 - i / (hits.length - 1) : 1));
}

/** Sorts by the new score, keeping the retrieval order among ties. */
export function orderBy(hits: ChunkHit[], scores: number[]): RerankedHit[] {
  return hits
    .map((h, i) => ({ ...h, retrievalScore: h.score, score: scores[i]!, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map(({ i: _i, ...h }) => h);
}
