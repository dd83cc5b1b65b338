import type { ContextSource } from "../pipelines/generate/types.js";

/** One ClapNQ question with the sources /ask packed for it (bench/reader-collect.ts). */
export interface PackedQuestion {
  id: string;
  question: string;
  kind: "answerable" | "unanswerable";
  half: "A" | "B";
  /** Per annotator: the reference answer and the gold answer-bearing sentences. */
  gold: Array<{ answer: string; selected: string[] }>;
  sources: Array<{ n: number; text: string; headingPath: string[]; score: number; path: string }>;
}

/** The saved sources as the generator receives them (a ChunkHit with what the reader reads). */
export function contextSources(q: PackedQuestion): ContextSource[] {
  return q.sources.map((s) => ({
    n: s.n,
    text: s.text,
    tokens: 0,
    hit: {
      chunkId: `${q.id}-${s.n}`,
      documentId: s.path,
      sourceId: "clapnq",
      path: s.path,
      collection: "default",
      ordinal: 0,
      text: s.text,
      page: null,
      headingPath: s.headingPath,
      tokenCount: 0,
      score: s.score,
    },
  }));
}
