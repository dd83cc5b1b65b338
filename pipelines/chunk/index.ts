import { createLlamaIndexChunker, LLAMAINDEX_STRATEGY, llamaIndexChunkerSettings } from "./llamaindex-chunker.js";
import { createChunker, defaultChunkerSettings, STRUCTURE_STRATEGY } from "./structure-chunker.js";
import type { Chunker, TokenCounter } from "./types.js";

/** The chunkers `CHUNKER` can name. */
export type ChunkerKind = "structure" | "llamaindex";

const STRATEGY: Record<ChunkerKind, string> = { structure: STRUCTURE_STRATEGY, llamaindex: LLAMAINDEX_STRATEGY };

/** The kind whose strategy a generation recorded, or null for one this version does not have. */
export function kindOfStrategy(strategy: unknown): ChunkerKind | null {
  return (Object.keys(STRATEGY) as ChunkerKind[]).find((k) => STRATEGY[k] === strategy) ?? null;
}

/** Builds a chunker of `kind` under a token limit. Async because llamaindex is loaded on first use. */
export async function createChunkerOfKind(
  kind: ChunkerKind,
  maxTokens: number,
  countTokens: TokenCounter,
): Promise<Chunker> {
  return kind === "llamaindex"
    ? createLlamaIndexChunker(llamaIndexChunkerSettings(maxTokens), countTokens)
    : createChunker(defaultChunkerSettings(maxTokens), countTokens);
}
