import { analyze, termCounts } from "./analyzer.js";

/** BM25's free parameters. */
export interface Bm25Params {
  k1: number;
  b: number;
}

/** Anserini's defaults for BEIR (and Lucene's BM25Similarity defaults are close: 1.2, 0.75). */
export const ANSERINI_BM25: Bm25Params = { k1: 0.9, b: 0.4 };

// Lucene's SmallFloat: lengths below this are stored exactly, longer ones with 4 significant bits.
const NUM_FREE_VALUES = 255 - longToInt4(2 ** 31 - 1);

function longToInt4(i: number): number {
  const numBits = 32 - Math.clz32(i);
  if (numBits < 4) {
    return i;
  }
  const shift = numBits - 4;
  // Keep the 4 bits below the implicit leading one, and the shift (+1: 0 means subnormal).
  return ((i >>> shift) & 0x07) | ((shift + 1) << 3);
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) << shift;
}

/** `SmallFloat.intToByte4`: the one-byte norm Lucene 8+ stores for a field of `length` terms. */
export function intToByte4(length: number): number {
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`length must be a non-negative integer, got ${length}`);
  }
  return length < NUM_FREE_VALUES ? length : NUM_FREE_VALUES + longToInt4(length - NUM_FREE_VALUES);
}

/** `SmallFloat.byte4ToInt`: the length Lucene's BM25 reads back from a stored norm byte. */
export function byte4ToInt(b: number): number {
  return b < NUM_FREE_VALUES ? b : NUM_FREE_VALUES + int4ToLong(b - NUM_FREE_VALUES);
}

/**
 * The document length BM25 scores with: Lucene keeps one byte per document, so lengths of 24 and
 * more are rounded down to 4 significant bits (100 → 96, 250 → 248). Reproducing this rounding
 * is part of reproducing Lucene's rankings; the average length uses exact lengths.
 */
export function luceneLength(length: number): number {
  return byte4ToInt(intToByte4(length));
}

/** Lucene's BM25 idf: never negative, even for a term in every document. */
export function bm25Idf(docCount: number, docFreq: number): number {
  return Math.log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5));
}

/**
 * One term's BM25 contribution as Lucene 8+ computes it (without the constant (k1 + 1) factor,
 * which does not change rankings): idf · tf / (tf + k1 · (1 − b + b · dl / avgdl)), with `dl` the
 * rounded length from `luceneLength`.
 */
export function bm25TermScore(idf: number, tf: number, dl: number, avgdl: number, p: Bm25Params): number {
  return (idf * tf) / (tf + p.k1 * (1 - p.b + (p.b * dl) / avgdl));
}

/** A query's terms with their counts: Anserini boosts a term repeated in the query by its count. */
export function queryTerms(query: string): Map<string, number> {
  return termCounts(analyze(query));
}

export interface Bm25Hit {
  id: string;
  score: number;
}

/**
 * An in-memory BM25 index over analysed text, scored as Lucene's BM25Similarity scores (rounded
 * lengths, exact average). The store's SQL BM25 computes the same formula from the same analyzer;
 * this one is the reference it is tested against, and the benchmark's document-level retriever.
 */
export interface Bm25Index {
  add(id: string, text: string): void;
  search(query: string, k: number): Bm25Hit[];
  readonly docCount: number;
  readonly avgdl: number;
}

export function createBm25Index(params: Bm25Params = ANSERINI_BM25): Bm25Index {
  const ids: string[] = [];
  const lengths: number[] = [];
  const postings = new Map<string, { docs: number[]; tfs: number[] }>();
  let totalLength = 0;
  // Lucene counts only documents with at least one term in the field.
  let docCount = 0;

  return {
    add(id, text) {
      const counts = termCounts(analyze(text));
      const doc = ids.length;
      ids.push(id);
      let length = 0;
      for (const [term, tf] of counts) {
        let p = postings.get(term);
        if (!p) {
          p = { docs: [], tfs: [] };
          postings.set(term, p);
        }
        p.docs.push(doc);
        p.tfs.push(tf);
        length += tf;
      }
      lengths.push(luceneLength(length));
      totalLength += length;
      if (length > 0) {
        docCount++;
      }
    },
    search(query, k) {
      const avgdl = totalLength / Math.max(1, docCount);
      const scores = new Map<number, number>();
      for (const [term, qtf] of queryTerms(query)) {
        const p = postings.get(term);
        if (!p) {
          continue;
        }
        const idf = bm25Idf(docCount, p.docs.length);
        for (let i = 0; i < p.docs.length; i++) {
          const d = p.docs[i]!;
          const s = qtf * bm25TermScore(idf, p.tfs[i]!, lengths[d]!, avgdl, params);
          scores.set(d, (scores.get(d) ?? 0) + s);
        }
      }
      return [...scores]
        .map(([d, score]) => ({ id: ids[d]!, score }))
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .slice(0, k);
    },
    get docCount() {
      return docCount;
    },
    get avgdl() {
      return totalLength / Math.max(1, docCount);
    },
  };
}
