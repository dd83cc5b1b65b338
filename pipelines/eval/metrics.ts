/**
 * Retrieval metrics as trec_eval computes them, over a ranked list of document ids and graded
 * judgements (`relevance > 0` counts as relevant; the grade is the gain in nDCG).
 */

/** Judged documents of one query: id → relevance grade. */
export type Judgements = ReadonlyMap<string, number>;
/** Per query, its judged documents (BEIR qrels, or a suite's `relevant` with grade 1). */
export type Qrels = Map<string, Map<string, number>>;

/**
 * Orders scored documents best first the way trec_eval does: score descending, ties broken by
 * document id descending (so figures reproduce Anserini's to the last digit).
 */
export function rankByScore(scores: ReadonlyMap<string, number>, depth = Infinity): string[] {
  return [...scores]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0))
    .slice(0, depth)
    .map(([d]) => d);
}

const relevantCount = (judged: Judgements) => [...judged.values()].filter((g) => g > 0).length;

/** Share of the relevant documents found in the first `k`; null when the query has none. */
export function recallAt(ranking: readonly string[], judged: Judgements, k: number): number | null {
  const total = relevantCount(judged);
  if (total === 0) {
    return null;
  }
  const found = new Set(ranking.slice(0, k).filter((d) => (judged.get(d) ?? 0) > 0)).size;
  return found / total;
}

/** 1 / rank of the first relevant document within `k`, 0 when none; null when the query has none. */
export function mrrAt(ranking: readonly string[], judged: Judgements, k = 10): number | null {
  if (relevantCount(judged) === 0) {
    return null;
  }
  const i = ranking.slice(0, k).findIndex((d) => (judged.get(d) ?? 0) > 0);
  return i < 0 ? 0 : 1 / (i + 1);
}

/**
 * nDCG@k with linear gains (trec_eval's `ndcg_cut`, which BEIR reports): Σ grade / log2(rank + 1)
 * over the first k, divided by the same sum for the ideal order; null when the query has no
 * relevant document.
 */
export function ndcgAt(ranking: readonly string[], judged: Judgements, k = 10): number | null {
  const gains = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  if (gains.length === 0) {
    return null;
  }
  const dcg = ranking.slice(0, k).reduce((s, d, i) => s + (judged.get(d) ?? 0) / Math.log2(i + 2), 0);
  const ideal = gains.slice(0, k).reduce((s, g, i) => s + g / Math.log2(i + 2), 0);
  return dcg / ideal;
}

/** Mean of the values that are numbers; null when there are none (a metric that never applied). */
export function meanOf(values: ReadonlyArray<number | null | undefined>): number | null {
  const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Nearest-rank percentile (p in (0, 1]): the smallest value with at least p of the values at or below it. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) {
    return null;
  }
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export interface RetrievalFigures {
  ndcg10: number;
  recall100: number;
  /** Recall at the run's k (the suite's `--k`). */
  recallK: number;
  mrr10: number;
  queries: number;
}

/**
 * Means over the judged queries of a run (queries with no relevant document are left out, as
 * trec_eval leaves out queries without judgements). A query missing from the run scores 0.
 */
export function evaluateRun(run: ReadonlyMap<string, readonly string[]>, qrels: Qrels, k = 10): RetrievalFigures {
  const per = {
    ndcg10: [] as Array<number | null>,
    recall100: [] as Array<number | null>,
    recallK: [] as Array<number | null>,
    mrr10: [] as Array<number | null>,
  };
  for (const [q, judged] of qrels) {
    const ranking = run.get(q) ?? [];
    per.ndcg10.push(ndcgAt(ranking, judged, 10));
    per.recall100.push(recallAt(ranking, judged, 100));
    per.recallK.push(recallAt(ranking, judged, k));
    per.mrr10.push(mrrAt(ranking, judged, 10));
  }
  return {
    ndcg10: meanOf(per.ndcg10) ?? 0,
    recall100: meanOf(per.recall100) ?? 0,
    recallK: meanOf(per.recallK) ?? 0,
    mrr10: meanOf(per.mrr10) ?? 0,
    queries: per.ndcg10.filter((v) => v !== null).length,
  };
}
