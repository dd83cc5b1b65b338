import type { ParsedDocument } from "../parse/types.js";

/** Settings recorded with an index generation: a change means a re-index. */
export interface ChunkerSettings {
  /** Upper bound on a chunk's length, in the embedder's own tokens (word pieces). */
  maxTokens: number;
  /** Tokens of the previous chunk repeated at the start of the next one within a section. */
  overlapTokens: number;
  /** Name of the chunking strategy, so settings from different strategies never compare equal. */
  strategy: string;
}

/** A chunk before it is embedded and stored. Offsets are into `ParsedDocument.text`. */
export interface ChunkDraft {
  ordinal: number;
  text: string;
  start: number;
  end: number;
  headingPath: string[];
  page: number | null;
  /** Length in the embedder's tokens (what `maxTokens` bounds). */
  tokenCount: number;
}

/**
 * Splits a parsed document into retrieval units that the embedder can read whole.
 * @example
 *   const chunker = createChunker({ maxTokens: 120, overlapTokens: 0, strategy: "structure-v1" }, countPieces);
 *   const chunks = chunker.chunk(parsed);
 */
export interface Chunker {
  readonly settings: ChunkerSettings;
  chunk(doc: ParsedDocument): ChunkDraft[];
}

/** Counts tokens the way the embedder will see them. */
export type TokenCounter = (text: string) => number;
