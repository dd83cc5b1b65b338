import { sql } from "drizzle-orm";
import type { AskResponse } from "../../schemas/api.js";
import { queryRows, type Drizzle } from "../store/database.js";

/** {collection: epoch}; '*' stands for every collection. */
export type Epochs = Record<string, number>;

/** A stored answer and what it was computed under. */
export interface CacheEntry {
  id: string;
  question: string;
  response: AskResponse;
  sourceChunks: string[];
  epochs: Epochs;
  createdAt: Date;
  /** Cosine similarity of the asked question to the stored one (1 for the exact path). */
  similarity: number;
}

export interface CacheCandidateQuery {
  keyHash: string;
  questionNorm: string;
  /** The question's embedding; without it only the exact path is tried. */
  embedding?: number[] | undefined;
  minSimilarity: number;
  /** How many nearest entries to return for the guard to check. */
  limit: number;
}

interface Row {
  id: string;
  question: string;
  response: AskResponse;
  source_chunks: string[];
  epochs: Epochs;
  created_at: Date | string;
  similarity: number | string;
}

const toSql = (v: number[]) => `[${v.join(",")}]`;

const entryOf = (r: Row): CacheEntry => ({
  id: r.id,
  question: r.question,
  response: r.response,
  sourceChunks: r.source_chunks,
  epochs: r.epochs,
  createdAt: new Date(r.created_at),
  similarity: Number(r.similarity),
});

const collectionsParam = (c: readonly string[] | null) =>
  c === null ? sql`NULL::text[]` : sql`${sql.param([...c])}::text[]`;

/** The answer_cache and collection_epochs tables (migration 0014); plain SQL that PGlite and PostgreSQL both run. */
export function createAnswerCacheStore(db: Drizzle) {
  return {
    /** Current epochs of `collections` (null: the '*' counter); a collection never written to is 0. */
    async epochs(collections: readonly string[] | null): Promise<Epochs> {
      const names = collections === null ? ["*"] : [...new Set(collections)];
      const out: Epochs = Object.fromEntries(names.map((n) => [n, 0]));
      if (!names.length) {
        return out;
      }
      const rows = await queryRows<{ collection: string; epoch: string | number }>(
        db,
        sql`SELECT collection, epoch FROM collection_epochs WHERE collection = ANY(${sql.param(names)}::text[])`,
      );
      for (const r of rows) {
        out[r.collection] = Number(r.epoch);
      }
      return out;
    },

    /** Entries under `keyHash`, the exact question first, then the nearest by embedding above the bar. */
    async candidates(q: CacheCandidateQuery): Promise<CacheEntry[]> {
      const exact = await queryRows<Row>(
        db,
        sql`SELECT id, question, response, source_chunks, epochs, created_at, 1 AS similarity FROM answer_cache
            WHERE key_hash = ${q.keyHash} AND question_norm = ${q.questionNorm} AND expires_at > now()
            ORDER BY created_at DESC LIMIT 1`,
      );
      if (exact.length || !q.embedding) {
        return exact.map(entryOf);
      }
      const vec = toSql(q.embedding);
      const near = await queryRows<Row>(
        db,
        sql`SELECT id, question, response, source_chunks, epochs, created_at, 1 - (embedding <=> ${vec}::vector) AS similarity
            FROM answer_cache WHERE key_hash = ${q.keyHash} AND expires_at > now()
            ORDER BY embedding <=> ${vec}::vector LIMIT ${q.limit}`,
      );
      return near.map(entryOf).filter((e) => e.similarity >= q.minSimilarity);
    },

    async insert(e: {
      keyHash: string;
      collections: readonly string[] | null;
      question: string;
      questionNorm: string;
      embedding: number[];
      epochs: Epochs;
      sourceChunks: string[];
      response: AskResponse;
      ttlMs: number;
    }): Promise<void> {
      // Written only while the epochs it was computed under are still current: an answer that
      // raced an edit is not stored (the check on read would refuse it anyway).
      await db.execute(sql`
        INSERT INTO answer_cache (key_hash, collections, question, question_norm, embedding, epochs, source_chunks, response, expires_at)
        SELECT ${e.keyHash}, ${collectionsParam(e.collections)}, ${e.question}, ${e.questionNorm}, ${toSql(e.embedding)}::vector,
               ${JSON.stringify(e.epochs)}::jsonb, ${sql.param(e.sourceChunks)}::text[], ${JSON.stringify(e.response)}::jsonb,
               now() + make_interval(secs => ${e.ttlMs / 1000})
        WHERE NOT EXISTS (
          SELECT 1 FROM jsonb_each_text(${JSON.stringify(e.epochs)}::jsonb) s
          LEFT JOIN collection_epochs c ON c.collection = s.key
          WHERE coalesce(c.epoch, 0) <> s.value::bigint)`);
    },

    async touch(id: string): Promise<void> {
      await db.execute(sql`UPDATE answer_cache SET hits = hits + 1, last_used_at = now() WHERE id = ${id}::uuid`);
    },

    async remove(id: string): Promise<void> {
      await db.execute(sql`DELETE FROM answer_cache WHERE id = ${id}::uuid`);
    },

    /** Drops expired entries, then the least recently used beyond `maxEntries`. */
    async prune(maxEntries: number): Promise<number> {
      const expired = await queryRows<{ id: string }>(
        db,
        sql`DELETE FROM answer_cache WHERE expires_at <= now() RETURNING id`,
      );
      const over = await queryRows<{ id: string }>(
        db,
        sql`DELETE FROM answer_cache WHERE id IN (SELECT id FROM answer_cache ORDER BY last_used_at DESC OFFSET ${maxEntries}) RETURNING id`,
      );
      return expired.length + over.length;
    },

    async count(): Promise<number> {
      const [row] = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM answer_cache`);
      return Number(row?.n ?? 0);
    },
  };
}

export type AnswerCacheStore = ReturnType<typeof createAnswerCacheStore>;

/** True while every counter the entry was computed under is unchanged. */
export function epochsCurrent(stored: Epochs, current: Epochs): boolean {
  const keys = Object.keys(stored);
  return (
    keys.length > 0 && keys.every((k) => current[k] === stored[k]) && Object.keys(current).every((k) => k in stored)
  );
}
