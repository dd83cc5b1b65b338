// A small English stopword list (Lucene's, plus question words): these carry no evidence that a
// sentence answers a question.
const STOPWORDS = new Set(
  (
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these " +
    "they this to was will with what which who whom whose when where why how does do did can could should " +
    "would i you we he she its our your my me us them been being have has had than so also about from"
  ).split(" "),
);

/** Crude suffix stripping, enough to match "chunks"/"chunk" and "indexing"/"indexed". */
export function stem(word: string): string {
  if (word.length <= 4) {
    return word;
  }
  for (const suffix of ["ations", "ation", "ings", "ing", "edly", "ed", "ies", "es", "s"]) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      return suffix === "ies" ? `${word.slice(0, -3)}y` : word.slice(0, -suffix.length);
    }
  }
  return word;
}

/** Lower-cased, stemmed content words of a text, stopwords removed. */
export function contentTerms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOPWORDS.has(w)).map(stem);
}
