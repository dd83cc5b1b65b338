import { contentTerms } from "../text/terms.js";

/**
 * The lexical guard of the semantic cache. Embeddings of "Is X supported?" and "Is X not
 * supported?", or of "the 2023 limit" and "the 2024 limit", are nearly identical, and a cache that
 * trusts them answers a question with the answer to its opposite (the GPTCache failure). Two
 * questions may share an answer only when they agree on every feature below.
 */

const NEGATIONS = new Set([
  "not",
  "no",
  "never",
  "none",
  "nobody",
  "nothing",
  "nowhere",
  "neither",
  "nor",
  "without",
  "cannot",
  "except",
  "excluding",
  "unless",
  "lack",
  "lacks",
  "missing",
  "fail",
  "fails",
  "false",
]);

// Words whose swap turns a question into another one with a different answer.
const POLAR = new Set([
  "before",
  "after",
  "more",
  "less",
  "fewer",
  "most",
  "least",
  "higher",
  "lower",
  "larger",
  "smaller",
  "bigger",
  "max",
  "maximum",
  "min",
  "minimum",
  "first",
  "last",
  "earliest",
  "latest",
  "oldest",
  "newest",
  "increase",
  "decrease",
  "add",
  "remove",
  "enable",
  "disable",
  "above",
  "below",
  "over",
  "under",
  "top",
  "bottom",
  "start",
  "end",
  "begin",
  "stop",
  "open",
  "close",
  "upper",
  "lower",
  "inside",
  "outside",
  "input",
  "output",
  "left",
  "right",
  "true",
  "yes",
  "best",
  "worst",
  "longest",
  "shortest",
  "fastest",
  "slowest",
  "why",
  "when",
  "where",
  "who",
  "how",
  "which",
  "what",
  "many",
  "much",
  "long",
  "old",
]);

const NUMBER_WORDS: Record<string, string> = {
  zero: "0",
  one: "1",
  two: "2",
  three: "3",
  four: "4",
  five: "5",
  six: "6",
  seven: "7",
  eight: "8",
  nine: "9",
  ten: "10",
  eleven: "11",
  twelve: "12",
  twenty: "20",
  thirty: "30",
  forty: "40",
  fifty: "50",
  hundred: "100",
  thousand: "1000",
  million: "1000000",
  billion: "1000000000",
  once: "1",
  twice: "2",
  half: "0.5",
  single: "1",
  double: "2",
  triple: "3",
};

export interface QuestionFeatures {
  numbers: string[];
  negations: number;
  polar: string[];
  names: string[];
  terms: Set<string>;
}

const words = (q: string) => q.match(/[\p{L}\p{N}][\p{L}\p{N}'’._-]*/gu) ?? [];

/** What the guard compares, from the question as asked (case matters for names). */
export function questionFeatures(question: string): QuestionFeatures {
  const ws = words(question);
  const lower = ws.map((w) => w.toLowerCase().replace(/[’]/g, "'"));
  const numbers = [
    ...(question.match(/\d+(?:[.,:/]\d+)*/g) ?? []).map((n) => n.replace(/,(?=\d{3}\b)/g, "")),
    ...lower.map((w) => NUMBER_WORDS[w]).filter((n): n is string => n !== undefined),
  ];
  const negations = lower.filter((w) => NEGATIONS.has(w) || w.endsWith("n't")).length;
  const polar = lower.filter((w) => POLAR.has(w));
  // Names: a capital after the first word, an inner capital (camelCase, iPhone), all caps, or
  // letters mixed with digits or dots (v2, node.js, RFC9110).
  const names = ws
    .filter(
      (w, i) =>
        (i > 0 && /^\p{Lu}/u.test(w)) ||
        /\p{Ll}\p{Lu}/u.test(w) ||
        /^\p{Lu}{2,}/u.test(w) ||
        (/\p{L}/u.test(w) && /[\d.]/.test(w)),
    )
    .map((w) => w.toLowerCase().replace(/[.'’]+$/, ""));
  return {
    numbers: [...new Set(numbers)].sort(),
    negations,
    polar: [...new Set(polar)].sort(),
    names: [...new Set(names)].sort(),
    terms: new Set(contentTerms(question)),
  };
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Null when `a` and `b` may share an answer; otherwise why not. Besides the features above, each
 * question may have at most one content word the other lacks (a paraphrase swaps a verb, not the
 * subject), and at least half of the content words must be shared.
 */
export function guardMismatch(a: QuestionFeatures, b: QuestionFeatures): string | null {
  if (!sameList(a.numbers, b.numbers)) {
    return "numbers differ";
  }
  if (a.negations > 0 !== b.negations > 0 || a.negations % 2 !== b.negations % 2) {
    return "negation differs";
  }
  if (!sameList(a.polar, b.polar)) {
    return "polar or question words differ";
  }
  if (!sameList(a.names, b.names)) {
    return "names differ";
  }
  const onlyA = [...a.terms].filter((t) => !b.terms.has(t)).length;
  const onlyB = [...b.terms].filter((t) => !a.terms.has(t)).length;
  const shared = a.terms.size - onlyA;
  if (onlyA > 1 || onlyB > 1) {
    return "content words differ";
  }
  if (shared * 2 < Math.max(a.terms.size, b.terms.size)) {
    return "too few shared content words";
  }
  return null;
}
