/**
 * What an answer says, measured against references: which gold sentences it quotes (ClapNQ's
 * `selected_sentences`), how much of a reference answer's wording it holds (token recall, ROUGE-L),
 * and whether it contains one of a suite's expected strings (`answer_any`). Retrieval metrics only
 * say the right passage was cited; these say whether the answer states the fact.
 */

const ARTICLES = new Set(["a", "an", "the"]);

/** SQuAD-style answer tokens: lower-cased words and numbers, articles and punctuation removed. */
export function answerTokens(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !ARTICLES.has(w));
}

/** Share of the reference's tokens (counted with multiplicity) that the answer holds; 0 for an empty reference. */
export function tokenRecall(answer: string, reference: string): number {
  const ref = answerTokens(reference);
  if (ref.length === 0) {
    return 0;
  }
  const have = new Map<string, number>();
  for (const t of answerTokens(answer)) {
    have.set(t, (have.get(t) ?? 0) + 1);
  }
  let hit = 0;
  for (const t of ref) {
    const n = have.get(t) ?? 0;
    if (n > 0) {
      hit++;
      have.set(t, n - 1);
    }
  }
  return hit / ref.length;
}

/** ROUGE-L F1 (β = 1) over answer tokens: the longest common subsequence against both lengths. */
export function rougeL(answer: string, reference: string): number {
  const a = answerTokens(answer);
  const r = answerTokens(reference);
  if (a.length === 0 || r.length === 0) {
    return 0;
  }
  // One row of the LCS table at a time: O(|a|·|r|) time, O(|r|) memory.
  let prev = new Array<number>(r.length + 1).fill(0);
  for (const x of a) {
    const row = new Array<number>(r.length + 1).fill(0);
    for (let j = 1; j <= r.length; j++) {
      row[j] = x === r[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, row[j - 1]!);
    }
    prev = row;
  }
  const lcs = prev[r.length]!;
  if (lcs === 0) {
    return 0;
  }
  const p = lcs / a.length;
  const rec = lcs / r.length;
  return (2 * p * rec) / (p + rec);
}

// A sentence counts as quoted when this share of its tokens lies in the other text. Below 1 because
// the two sides are split and tokenised differently (ClapNQ writes "Smith 's" and "( lit .").
const SENTENCE_MATCH = 0.8;

const containedShare = (inner: string[], outer: Set<string>) =>
  inner.length ? inner.filter((t) => outer.has(t)).length / inner.length : 0;

export interface SentenceOverlap {
  /** Share of the answer's sentences that are one of the gold sentences (null for an answer with none). */
  precision: number | null;
  /** Share of the gold sentences the answer quotes (null when there are none). */
  recall: number | null;
}

/**
 * Selected-sentence precision and recall of one answer against one set of gold sentences. An
 * answer sentence is right when at least 80% of its tokens lie in one gold sentence; a gold
 * sentence is recalled when at least 80% of its tokens lie in one answer sentence.
 */
export function sentenceOverlap(answerSentences: string[], gold: string[]): SentenceOverlap {
  const a = answerSentences.map(answerTokens).filter((t) => t.length > 0);
  const g = gold.map(answerTokens).filter((t) => t.length > 0);
  const aSets = a.map((t) => new Set(t));
  const gSets = g.map((t) => new Set(t));
  return {
    precision: a.length
      ? a.filter((t) => gSets.some((s) => containedShare(t, s) >= SENTENCE_MATCH)).length / a.length
      : null,
    recall: g.length
      ? g.filter((t) => aSets.some((s) => containedShare(t, s) >= SENTENCE_MATCH)).length / g.length
      : null,
  };
}

/**
 * The best agreement over several annotators' gold sentences (ClapNQ has up to seven): the one whose
 * precision and recall have the highest harmonic mean, as multi-reference QA scores take the best.
 */
export function bestSentenceOverlap(answerSentences: string[], golds: string[][]): SentenceOverlap {
  let best: SentenceOverlap = { precision: null, recall: null };
  let bestF = -1;
  for (const gold of golds) {
    const o = sentenceOverlap(answerSentences, gold);
    if (o.recall === null) {
      continue;
    }
    const p = o.precision ?? 0;
    const f = p + o.recall > 0 ? (2 * p * o.recall) / (p + o.recall) : 0;
    if (f > bestF) {
      [best, bestF] = [o, f];
    }
  }
  return best;
}

/** Text folded for `answer_any`: case, typographic quotes and runs of whitespace do not matter. */
export function foldForMatch(text: string): string {
  return text.toLowerCase().replace(/[‘’]/g, "'").replace(/[“”]/g, '"').replace(/\s+/g, " ").trim();
}

/** True when the answer contains at least one of the expected strings (folded as above). */
export function answerContainsAny(answer: string, expected: readonly string[]): boolean {
  const folded = foldForMatch(answer);
  return expected.some((e) => folded.includes(foldForMatch(e)));
}
