import type { LogisticModel } from "./logistic.js";

/**
 * Types of the answer stage, apart from its functions: the fitted answerability model
 * (answerability-model.ts, written by `npm run bench:answerability -- --write`) and the judge that
 * reads it (answerability.ts) both use them, without importing each other back.
 */

/** A logistic model over the answerability features; `threshold` is the default abstention bar. */
export type AnswerabilityModel = LogisticModel;

export interface Answerability {
  /** Probability that the packed sources answer the question, in [0, 1]. */
  score: number;
  features: Record<string, number>;
}
