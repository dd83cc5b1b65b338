import type { GenerationFusion } from "../../schemas/db.js";
import { createLexicalReranker } from "../rerank/lexical.js";
import { scoreRun, type ChunkTexts, type QueryCandidates } from "./beir-run.js";
import type { Qrels } from "./metrics.js";

export const DENSE_WEIGHT_GRID = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1];
export const DOCUMENT_WEIGHT_GRID = [0.5, 0.7, 0.85, 1];

export interface FitCell {
  documentWeight: number;
  denseWeight: number;
  ndcg10: number;
  recall100: number;
}

export interface FitResult {
  fusion: GenerationFusion;
  grid: FitCell[];
}

/**
 * Grid search of the fusion weights on a train split, maximising nDCG@10 (ties go to the smaller
 * dense weight, then the earlier document weight: the simpler model). The grid holds dense weight
 * 0 (lexical alone) and 1 (dense alone), so the winner never scores below its best single
 * retriever on the split it was fitted on; the check below makes that a stated guarantee.
 *
 * @param byDocumentWeight candidates per query, searched once per document weight (the blend is
 *   computed inside the store's BM25 query, so each weight is its own search).
 */
export async function fitFusion(
  byDocumentWeight: ReadonlyMap<number, ReadonlyMap<string, QueryCandidates>>,
  qrels: Qrels,
  meta: { fittedOn: string; candidates: number; denseWeights?: number[] },
): Promise<FitResult> {
  const grid: FitCell[] = [];
  for (const [documentWeight, candidates] of byDocumentWeight) {
    for (const denseWeight of meta.denseWeights ?? DENSE_WEIGHT_GRID) {
      const f = await scoreRun(candidates, qrels, { denseWeight });
      grid.push({ documentWeight, denseWeight, ndcg10: f.ndcg10, recall100: f.recall100 });
    }
  }
  if (grid.length === 0) {
    throw new Error("nothing to fit: no candidates");
  }
  const best = grid.reduce((a, b) => (b.ndcg10 > a.ndcg10 + 1e-12 ? b : a));
  const lexical = grid
    .filter((c) => c.denseWeight === 0)
    .reduce((a, b) => (b.ndcg10 > a.ndcg10 ? b : a), { ndcg10: -1 } as FitCell);
  const dense = grid.find((c) => c.denseWeight === 1) ?? { ndcg10: -1 };
  const bestSingle =
    lexical.ndcg10 >= dense.ndcg10
      ? { retriever: "lexical" as const, ndcg10: lexical.ndcg10 }
      : { retriever: "dense" as const, ndcg10: dense.ndcg10 };
  if (best.ndcg10 + 1e-12 < bestSingle.ndcg10) {
    throw new Error("fit: the grid must hold dense weights 0 and 1");
  }
  return {
    grid,
    fusion: {
      denseWeight: best.denseWeight,
      documentWeight: best.documentWeight,
      fittedOn: meta.fittedOn,
      ndcg10: best.ndcg10,
      bestSingle,
      candidates: meta.candidates,
      fittedAt: new Date().toISOString(),
    },
  };
}

export const RERANK_PRIOR_GRID = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/**
 * nDCG@10 of /ask's lexical reranker over the first `pool` fused chunks, by the weight of its
 * retrieval prior (1 would be no re-ranking). Reported with a fit, so a change of the reranker's
 * prior is decided on the train split too; the reranker's setting itself is code, not stored.
 */
export async function sweepRerankPrior(
  candidates: ReadonlyMap<string, QueryCandidates>,
  qrels: Qrels,
  opts: { denseWeight: number; pool: number; texts: ChunkTexts; priors?: number[] },
): Promise<Array<{ priorWeight: number; ndcg10: number }>> {
  const out: Array<{ priorWeight: number; ndcg10: number }> = [];
  for (const priorWeight of opts.priors ?? RERANK_PRIOR_GRID) {
    const reranker = createLexicalReranker({ priorWeight });
    const f = await scoreRun(candidates, qrels, {
      denseWeight: opts.denseWeight,
      rerank: { reranker, pool: opts.pool, texts: opts.texts },
    });
    out.push({ priorWeight, ndcg10: f.ndcg10 });
  }
  return out;
}
