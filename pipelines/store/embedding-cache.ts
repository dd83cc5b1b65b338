import { and, eq, inArray } from "drizzle-orm";
import { embeddingCache } from "../../schemas/db.js";
import type { Drizzle } from "./database.js";

/** Embeddings keyed by (embedder identity, chunk text hash): an edit re-embeds only what changed. */
export interface EmbeddingCache {
  getMany(embedderKey: string, textHashes: string[]): Promise<Map<string, number[]>>;
  putMany(embedderKey: string, entries: Array<{ textHash: string; embedding: number[] }>): Promise<void>;
}

export function createEmbeddingCache(db: Drizzle): EmbeddingCache {
  return {
    async getMany(embedderKey, textHashes) {
      if (textHashes.length === 0) {
        return new Map();
      }
      const rows = await db
        .select({ textHash: embeddingCache.textHash, embedding: embeddingCache.embedding })
        .from(embeddingCache)
        .where(and(eq(embeddingCache.embedderKey, embedderKey), inArray(embeddingCache.textHash, textHashes)));
      return new Map(rows.map((r) => [r.textHash, r.embedding]));
    },
    async putMany(embedderKey, entries) {
      if (entries.length === 0) {
        return;
      }
      await db
        .insert(embeddingCache)
        .values(entries.map((e) => ({ embedderKey, textHash: e.textHash, embedding: e.embedding })))
        .onConflictDoNothing();
    },
  };
}
