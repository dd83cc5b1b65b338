/**
 * The arithmetic of the quality metrics (README "Quality metrics"), apart from the judgements that
 * feed it, so each formula can be checked on hand-made numbers.
 */

/**
 * Cosine between a question and an answer, rescaled to [0, 1] between these two bars. Measured
 * with USE-Lite on 80 ClapNQ dev questions: against another question's reference answer the
 * median cosine is 0.11 (95th percentile 0.27); against its own reference answer the median is
 * 0.53 and the 75th percentile 0.63. So 0.1 reads as "unrelated" and 0.6 as "fully on topic".
 */
export const RELEVANCY_COSINE = { floor: 0.1, full: 0.6 } as const;

/** answerRelevancy: the semantic and the lexical halves weigh the same (README). */
export const RELEVANCY_SEMANTIC_WEIGHT = 0.5;

/** answerCorrectness as RAGAS weighs it: factual agreement (claim F1) 0.75, semantic similarity 0.25. */
export const CORRECTNESS_WEIGHTS = { f1: 0.75, similarity: 0.25 } as const;

export const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** (x - lo) / (hi - lo), clamped to [0, 1]. */
export const rescale = (x: number, lo: number, hi: number) => clamp01((x - lo) / (hi - lo));

/** part / whole; null when there is nothing to take a share of. */
export const share = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

/**
 * RAGAS context precision: the mean of precision@k over the ranks k that hold a relevant source,
 * so relevant sources ranked first score higher. [1, 0, 1] → (1/1 + 2/3) / 2. No relevant source
 * → 0; no sources at all → null.
 */
export function rankPrecision(relevant: boolean[]): number | null {
  if (relevant.length === 0) {
    return null;
  }
  let hits = 0;
  let sum = 0;
  relevant.forEach((r, i) => {
    if (!r) {
      return;
    }
    hits++;
    sum += hits / (i + 1);
  });
  return hits === 0 ? 0 : sum / hits;
}

/**
 * F1 over claims as RAGAS answer correctness counts them: TP answer claims the reference supports,
 * FP answer claims it does not, FN reference claims the answer does not support.
 * TP / (TP + (FP + FN) / 2); null when neither text has a claim.
 */
export function claimF1(tp: number, fp: number, fn: number): number | null {
  return tp + fp + fn === 0 ? null : tp / (tp + (fp + fn) / 2);
}

/**
 * Mean of the rescaled cosine and the term coverage; either alone when the other is missing (no
 * embedder; a question without content words such as "What is it?").
 */
export function answerRelevancy(cosine: number | null, coverage: number | null): number | null {
  if (cosine === null) {
    return coverage;
  }
  if (coverage === null) {
    return rescale(cosine, RELEVANCY_COSINE.floor, RELEVANCY_COSINE.full);
  }
  const w = RELEVANCY_SEMANTIC_WEIGHT;
  return w * rescale(cosine, RELEVANCY_COSINE.floor, RELEVANCY_COSINE.full) + (1 - w) * coverage;
}

/** 0.75 × F1 + 0.25 × max(0, cosine); the F1 alone without an embedder. */
export function answerCorrectness(f1: number, cosine: number | null): number {
  if (cosine === null) {
    return f1;
  }
  return CORRECTNESS_WEIGHTS.f1 * f1 + CORRECTNESS_WEIGHTS.similarity * clamp01(cosine);
}
