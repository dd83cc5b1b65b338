/**
 * Types of the answer stage, apart from its functions: the fitted answerability model
 * (answerability-model.ts, written by `npm run bench:answerability -- --write`) and the judge that
 * reads it (answerability.ts) both use them, without importing each other back.
 */

/** A logistic model over the answerability features, with its standardisation and abstention bar. */
export interface AnswerabilityModel {
  /** Names of the features, in the order of `weights`. */
  features: readonly string[];
  /** Per-feature standardisation fitted with the weights: z = (x - mean) / scale. */
  mean: readonly number[];
  scale: readonly number[];
  weights: readonly number[];
  bias: number;
  /** Default abstention bar on the probability; chosen on the fitting half. */
  threshold: number;
  /** How it was fitted: data, split, date; shown in the README. */
  fittedOn: string;
}

export interface Answerability {
  /** Probability that the packed sources answer the question, in [0, 1]. */
  score: number;
  features: Record<string, number>;
}
