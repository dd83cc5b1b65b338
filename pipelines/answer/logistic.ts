/**
 * A logistic model over named features with its standardisation: the shape of both the
 * answerability judge (answerability-model.ts) and the reader (reader-model.ts), fitted by
 * bench/fit-logistic.ts.
 */
export interface LogisticModel {
  /** Names of the features, in the order of `weights`. */
  features: readonly string[];
  /** Per-feature standardisation fitted with the weights: z = (x - mean) / scale. */
  mean: readonly number[];
  scale: readonly number[];
  weights: readonly number[];
  bias: number;
  /** The bar on the probability, chosen on the fitting half. */
  threshold: number;
  /** How it was fitted: data, split, date; shown in the README. */
  fittedOn: string;
}

/** The model's probability for a feature vector (a missing feature counts as 0). */
export function logisticProbability(features: Record<string, number>, model: LogisticModel): number {
  let z = model.bias;
  model.features.forEach((name, i) => {
    z += model.weights[i]! * (((features[name] ?? 0) - model.mean[i]!) / (model.scale[i]! || 1));
  });
  return 1 / (1 + Math.exp(-z));
}
