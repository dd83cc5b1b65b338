/**
 * A lone UTF-16 surrogate ("\ud800" without its pair) is valid JSON but no character: it cannot be
 * encoded as UTF-8, so it would reach the tokenizer, the embedder and PostgreSQL as garbage. Text
 * fields of request schemas refuse it up front, naming the field, as any other malformed input:
 * `z.string().refine(isWellFormedText, notWellFormed("question"))`.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const isWellFormedText = (s: string) => !LONE_SURROGATE.test(s);

/** The refinement's message, naming the field. */
export const notWellFormed = (field: string) => ({
  message: `${field} must be well-formed Unicode text: it holds a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair)`,
});
