import { splitSentences } from "../text/sentences.js";
import { contentTerms } from "../text/terms.js";

/** What a source offers as evidence: its terms, its words and numbers, its sentences. */
export interface SourceEvidence {
  n: number;
  terms: Set<string>;
  /** Lower-cased words, unstemmed, for names. */
  words: Set<string>;
  numbers: Set<string>;
  sentences: string[];
}

const NUMBER_WORDS: Record<string, string> = Object.fromEntries(
  (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " +
    "seventeen eighteen nineteen twenty"
  )
    .split(" ")
    .map((w, i) => [w, String(i)])
    .concat(
      ["thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"].map((w, i) => [w, String(30 + i * 10)]),
    ),
);

/** Numbers in a text, normalised: "1,000" → "1000", "3.50" stays, "4th" → "4". */
export function numbersIn(text: string): string[] {
  return (text.match(/\d(?:[\d,.]*\d)?/g) ?? []).map((n) => (/^\d{1,3}(,\d{3})+$/.test(n) ? n.replace(/,/g, "") : n));
}

/**
 * Names a sentence states: capitalised words past its first word, and acronyms anywhere. These
 * are the facts a fluent model gets wrong while the rest of the sentence still matches its source.
 */
export function namesIn(sentence: string): string[] {
  const words = sentence.match(/[\p{L}][\p{L}\p{N}]*/gu) ?? [];
  return words
    .filter((w, i) => (/^\p{Lu}{2,}$/u.test(w) || (i > 0 && /^\p{Lu}/u.test(w))) && w !== "I")
    .map((w) => w.toLowerCase());
}

const wordsOf = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);

export function sourceEvidence(n: number, text: string): SourceEvidence {
  const words = wordsOf(text);
  const numbers = new Set(numbersIn(text));
  for (const w of words) {
    if (NUMBER_WORDS[w]) {
      numbers.add(NUMBER_WORDS[w]);
    }
  }
  const sentences = splitSentences(text).map((s) => text.slice(s.start, s.end));
  return { n, terms: new Set(contentTerms(text)), words, numbers, sentences };
}

/** One source made of several, for a sentence that draws on two sources at once. */
export function mergeEvidence(list: SourceEvidence[]): SourceEvidence {
  const union = <T>(pick: (e: SourceEvidence) => Iterable<T>) => new Set(list.flatMap((e) => [...pick(e)]));
  return {
    n: 0,
    terms: union((e) => e.terms),
    words: union((e) => e.words),
    numbers: union((e) => e.numbers),
    sentences: list.flatMap((e) => e.sentences),
  };
}

/**
 * IDF of terms over the sentences of every given source: a term no source has weighs most, so a
 * sentence that adds a new claim loses most of its support.
 */
export function termWeights(sources: SourceEvidence[]): (term: string) => number {
  const sentenceTerms = sources.flatMap((s) => s.sentences.map((t) => new Set(contentTerms(t))));
  const n = sentenceTerms.length;
  const df = new Map<string, number>();
  for (const set of sentenceTerms) {
    for (const t of set) {
      df.set(t, (df.get(t) ?? 0) + 1);
    }
  }
  return (t) => {
    const d = df.get(t) ?? 0;
    return Math.log(1 + (n - d + 0.5) / (d + 0.5));
  };
}

/** IDF-weighted share of the sentence's content terms that the source contains, in [0, 1]. */
export function lexicalSupport(terms: string[], source: SourceEvidence, weight: (t: string) => number): number {
  let have = 0;
  let all = 0;
  for (const t of new Set(terms)) {
    const w = weight(t);
    all += w;
    // "18" is supported by a source that says "eighteen".
    if (source.terms.has(t) || source.numbers.has(t)) {
      have += w;
    }
  }
  return all === 0 ? 0 : have / all;
}

/** Numbers and names of the sentence that the source never mentions. */
export function missingFacts(sentence: string, source: SourceEvidence): string[] {
  const missing = numbersIn(sentence).filter((x) => !source.numbers.has(x));
  for (const name of namesIn(sentence)) {
    if (!source.words.has(name)) {
      missing.push(name);
    }
  }
  return [...new Set(missing)];
}
