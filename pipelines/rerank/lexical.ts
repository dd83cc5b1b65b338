import type { ChunkHit } from "../store/types.js";
import { splitSentences } from "../text/sentences.js";
import { contentTerms } from "../text/terms.js";
import { orderBy, retrievalPrior, type Reranker } from "./types.js";

export interface LexicalRerankerOptions {
  /** Weight of the fused retrieval score; the rest goes to the lexical evidence. */
  priorWeight?: number;
}

interface Doc {
  terms: Set<string>;
  bigrams: Set<string>;
  sentences: Array<Set<string>>;
}

/**
 * Re-scores candidates on evidence a bag-of-words score cannot see: whether the question's word
 * pairs occur as pairs in the chunk (phrases), and how much of the question's rare vocabulary
 * (IDF over the candidates themselves) one sentence covers (proximity). The fused retrieval score
 * stays a strong prior, so a candidate moves only on clear evidence.
 *
 * Calibrated on SciFact with a BM25 top-30 as the prior: weights fitted on train (809 queries,
 * nDCG@10 0.697 → 0.702), then test (300) 0.679 → 0.681. Whole-chunk term coverage was tried and
 * dropped: it repeats what BM25 already counts and cost 0.004 on test.
 */
export function createLexicalReranker(opts: LexicalRerankerOptions = {}): Reranker {
  const priorWeight = opts.priorWeight ?? 0.6;
  return {
    name: "lexical",
    async rerank(question, hits) {
      if (hits.length < 2) {
        return orderBy(
          hits,
          hits.map((h) => h.score),
        );
      }
      const lexical = lexicalScores(question, hits);
      const prior = retrievalPrior(hits);
      return orderBy(
        hits,
        hits.map((_, i) => priorWeight * prior[i]! + (1 - priorWeight) * lexical[i]!),
      );
    },
  };
}

/** Lexical evidence per candidate in [0, 1]; all zeros when no question term occurs in any. */
export function lexicalScores(question: string, hits: ChunkHit[]): number[] {
  const qTerms = contentTerms(question);
  const docs = hits.map(toDoc);
  const idf = new Map<string, number>();
  for (const t of new Set(qTerms)) {
    const df = docs.filter((d) => d.terms.has(t)).length;
    // A term no candidate has cannot reorder them; leaving it out keeps coverage comparable.
    if (df > 0) {
      idf.set(t, Math.log(1 + (docs.length - df + 0.5) / (df + 0.5)));
    }
  }
  const total = [...idf.values()].reduce((a, b) => a + b, 0);
  if (total === 0) {
    return hits.map(() => 0);
  }
  const pairs = qTerms
    .slice(1)
    .map((t, i) => `${qTerms[i]} ${t}`)
    .filter((p, i, all) => all.indexOf(p) === i);
  const weigh = (set: Set<string>) => {
    let s = 0;
    for (const [t, w] of idf) {
      if (set.has(t)) {
        s += w;
      }
    }
    return s / total;
  };
  return docs.map((d) => {
    const proximity = d.sentences.reduce((best, s) => Math.max(best, weigh(s)), 0);
    if (pairs.length === 0) {
      return proximity;
    }
    const phrase = pairs.filter((p) => d.bigrams.has(p)).length / pairs.length;
    return 0.6 * phrase + 0.4 * proximity;
  });
}

function toDoc(hit: ChunkHit): Doc {
  const words = contentTerms(hit.text);
  // Headings name the topic the way a title field does in BM25F.
  const terms = new Set([...words, ...contentTerms(hit.headingPath.join(" "))]);
  const bigrams = new Set(words.slice(1).map((t, i) => `${words[i]} ${t}`));
  const sentences = splitSentences(hit.text).map((s) => new Set(contentTerms(hit.text.slice(s.start, s.end))));
  return { terms, bigrams, sentences };
}
