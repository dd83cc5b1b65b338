import { createHash } from "node:crypto";
import { embedderKey, type Embedder } from "../embed/types.js";
import { PipelineError } from "../errors.js";
import type { EmbeddingCache } from "../store/embedding-cache.js";

export const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

export interface EmbeddedTexts {
  /** One vector per input text, in order. */
  vectors: number[][];
  /** Chunk text hashes, in order (what the store records as `text_hash`). */
  hashes: string[];
  /** Distinct texts sent to the embedder. */
  embedded: number;
  /** Texts answered from the cache or by a duplicate within the same document. */
  reused: number;
}

/**
 * Embeds texts through the cache keyed by (embedder identity, text hash): an edit to one paragraph
 * re-embeds only the chunks whose text changed, and a renamed or copied file re-embeds nothing.
 * New vectors are cached before the caller stores chunks, so a retry after a failed write is free.
 */
export async function embedWithCache(
  deps: { embedder: Embedder; embeddingCache: EmbeddingCache },
  texts: string[],
): Promise<EmbeddedTexts> {
  const hashes = texts.map((t) => sha256(t));
  const key = embedderKey(deps.embedder.identity);
  const unique = [...new Set(hashes)];
  const known = await deps.embeddingCache.getMany(key, unique);
  const missing = unique.filter((h) => !known.has(h));
  const textOf = new Map(hashes.map((h, i) => [h, texts[i]!]));
  const fresh = await embed(
    deps.embedder,
    missing.map((h) => textOf.get(h)!),
  );
  missing.forEach((h, i) => {
    known.set(h, fresh[i]!);
  });
  await deps.embeddingCache.putMany(
    key,
    missing.map((h, i) => ({ textHash: h, embedding: fresh[i]! })),
  );
  return {
    vectors: hashes.map((h) => known.get(h)!),
    hashes,
    embedded: missing.length,
    reused: texts.length - missing.length,
  };
}

async function embed(embedder: Embedder, texts: string[]): Promise<number[][]> {
  if (texts.length === 0) {
    return [];
  }
  let vectors: number[][];
  try {
    vectors = await embedder.embed(texts);
  } catch (cause) {
    throw new PipelineError("embedding_failed", `The embedder failed: ${(cause as Error).message}`, {
      retryable: true,
      cause,
    });
  }
  // A short answer would pair vectors with the wrong chunks; refuse it rather than store nonsense.
  if (vectors.length !== texts.length) {
    throw new PipelineError(
      "embedding_failed",
      `The embedder returned ${vectors.length} vectors for ${texts.length} texts.`,
      {
        retryable: true,
      },
    );
  }
  return vectors;
}
