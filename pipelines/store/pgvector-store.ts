import { randomUUID } from "node:crypto";
import { and, eq, sql, type SQL } from "drizzle-orm";
import { chunks } from "../../schemas/db.js";
import {
  bm25ChunkQuery,
  DEFAULT_LEXICAL,
  deleteDocumentPostings,
  writeLexicalPostings,
  type LexicalSettings,
} from "./bm25-postings.js";
import { createBm25Cache } from "../retrieve/bm25-cache.js";
import { createDenseMemory } from "../retrieve/dense-memory.js";
import { type ChunkRow, chunkFieldsOf } from "./chunk-row.js";
import { queryRows, type Drizzle } from "./database.js";
import type { ChunkHit, SearchOptions, VectorStore } from "./types.js";

interface HitRow extends ChunkRow, Record<string, unknown> {
  score: number;
}

export interface PgvectorStoreOptions {
  /** BM25 parameters and the document/chunk blend; `DEFAULT_LEXICAL` when unset. */
  lexical?: Partial<LexicalSettings> | undefined;
  /**
   * `memory` (default): BM25 over postings cached per term in this process, kept in step with the
   * database by a version (pipelines/retrieve/bm25-cache.ts); `sql`: scored by one SQL query.
   * Same scores; README "Performance" has the timings of both.
   */
  lexicalScoring?: "memory" | "sql" | undefined;
  /**
   * `memory` (default): an exact scan of the generation's vectors held in this process, kept in
   * step with the database by a version (pipelines/retrieve/dense-memory.ts), pgvector's HNSW
   * index while it loads and for generations above `denseMemoryMaxChunks`; `hnsw`: always the
   * index; `exact`: a sequential scan in SQL (the reference the others are tested against).
   */
  denseSearch?: "memory" | "hnsw" | "exact" | undefined;
  /** DENSE_MEMORY_MAX_CHUNKS: larger generations are searched through HNSW; 0 never holds one. */
  denseMemoryMaxChunks?: number | undefined;
  /** Hears a failed background load of the in-memory dense index (SQL answers meanwhile). */
  onBackgroundError?: ((err: unknown) => void) | undefined;
}

/** The store, and a way to have a generation's in-memory dense index loaded now rather than on its first query. */
export interface PgvectorStore extends VectorStore {
  /** Resolves once the generation is held in memory at its current version (or cannot be: too large, or `denseSearch` is not `memory`). */
  warmDense(generationId: number): Promise<void>;
}

/**
 * pgvector in the service's own PostgreSQL (or PGlite). Each generation has its own partial HNSW
 * index on `(embedding::vector(d))`; queries repeat that expression and predicate so the planner
 * can use it. Lexical search is BM25 over postings in the same database, written in the same
 * transaction as the chunks (pipelines/store/bm25-postings.ts).
 */
export function createPgvectorStore(db: Drizzle, options: PgvectorStoreOptions = {}): PgvectorStore {
  const dims = new Map<number, number>();
  const lexical: LexicalSettings = { ...DEFAULT_LEXICAL, ...options.lexical };
  const bm25 = options.lexicalScoring === "sql" ? null : createBm25Cache(db);
  const denseSearch = options.denseSearch ?? "memory";
  const dense =
    denseSearch === "memory" && options.denseMemoryMaxChunks !== 0
      ? createDenseMemory(db, { maxChunks: options.denseMemoryMaxChunks, onError: options.onBackgroundError })
      : null;

  async function dimensionOf(generationId: number): Promise<number> {
    const known = dims.get(generationId);
    if (known !== undefined) {
      return known;
    }
    const rows = await queryRows<{ d: number }>(
      db,
      sql`SELECT (embedder->>'dimensions')::int AS d FROM index_generations WHERE id = ${generationId}`,
    );
    const d = rows[0]?.d;
    if (d === undefined) {
      throw new Error(`index generation ${generationId} does not exist`);
    }
    dims.set(generationId, d);
    return d;
  }

  // An empty list is a tenant with no collections: it matches nothing, never everything.
  function collectionFilter(opts: SearchOptions): SQL {
    if (!opts.collections) {
      return sql``;
    }
    if (opts.collections.length === 0) {
      return sql`AND false`;
    }
    return sql`AND c.collection IN (${sql.join(
      opts.collections.map((c) => sql`${c}`),
      sql`, `,
    )})`;
  }

  const hitColumns = sql`c.id AS chunk_id, c.document_id, d.source_id, d.path, c.collection, c.ordinal,
    c.text, c.page, c.heading_path, c.token_count`;

  return {
    async warmDense(generationId) {
      await dense?.warm(generationId);
    },

    async prepareGeneration(generationId, dimensions) {
      dims.set(generationId, dimensions);
      // DDL cannot take bind parameters; both values are integers we produced.
      await db.execute(
        sql.raw(
          `CREATE INDEX IF NOT EXISTS chunks_embedding_g${Math.trunc(generationId)} ON chunks ` +
            `USING hnsw ((embedding::vector(${Math.trunc(dimensions)})) vector_cosine_ops) ` +
            `WHERE generation_id = ${Math.trunc(generationId)}`,
        ),
      );
    },

    async replaceDocumentChunks(generationId, doc, rows) {
      await db.transaction(async (tx) => {
        await deleteDocumentPostings(tx, doc.documentId, generationId);
        await tx
          .delete(chunks)
          .where(and(eq(chunks.generationId, generationId), eq(chunks.documentId, doc.documentId)));
        if (rows.length === 0) {
          return;
        }
        // Ids made here so the postings can name their chunks without reading them back.
        const ids = rows.map(() => randomUUID());
        await tx.insert(chunks).values(
          rows.map((c, i) => ({
            id: ids[i]!,
            generationId,
            documentId: doc.documentId,
            collection: doc.collection,
            ordinal: c.ordinal,
            text: c.text,
            textHash: c.textHash,
            embedding: c.embedding,
            startOffset: c.start,
            endOffset: c.end,
            page: c.page,
            headingPath: c.headingPath,
            tokenCount: c.tokenCount,
          })),
        );
        await writeLexicalPostings(
          tx,
          generationId,
          doc.documentId,
          rows.map((c, i) => ({ id: ids[i]!, text: c.text, headingPath: c.headingPath, start: c.start, end: c.end })),
        );
      });
    },

    async deleteDocumentChunks(documentId) {
      await db.transaction(async (tx) => {
        await deleteDocumentPostings(tx, documentId);
        await tx.delete(chunks).where(eq(chunks.documentId, documentId));
      });
    },

    async searchDense(embedding, opts) {
      const snapshot = await dense?.current(opts.generationId);
      if (snapshot) {
        return snapshot.search(embedding, opts.topK, opts.collections);
      }
      const d = await dimensionOf(opts.generationId);
      const g = opts.generationId;
      const q = `[${embedding.join(",")}]`;
      // An HNSW scan returns at most hnsw.ef_search rows (default 40): without raising it, a request
      // for 120 candidates silently got 40. pgvector caps the setting at 1000.
      const ef = Math.min(1000, Math.max(40, Math.trunc(opts.topK)));
      const rows = await db.transaction(async (tx) => {
        await tx.execute(sql.raw(`SET LOCAL hnsw.ef_search = ${ef}`));
        if (denseSearch === "exact") {
          // No index: every chunk of the generation is compared (ties by id, as the in-memory scan breaks them).
          await tx.execute(sql.raw("SET LOCAL enable_indexscan = off"));
          await tx.execute(sql.raw("SET LOCAL enable_bitmapscan = off"));
        }
        return queryRows<HitRow>(
          tx as unknown as Drizzle,
          sql`
        SELECT ${hitColumns},
               1 - ((c.embedding::vector(${sql.raw(String(d))})) <=> ${q}::vector(${sql.raw(String(d))})) AS score
        FROM chunks c JOIN documents d ON d.id = c.document_id
        WHERE c.generation_id = ${sql.raw(String(Math.trunc(g)))} ${collectionFilter(opts)}
        ORDER BY (c.embedding::vector(${sql.raw(String(d))})) <=> ${q}::vector(${sql.raw(String(d))})${sql.raw(denseSearch === "exact" ? ", c.id" : "")}
        LIMIT ${opts.topK}`,
        );
      });
      return rows.map(toHit);
    },

    async searchLexical(query, opts) {
      const settings =
        opts.documentWeight === undefined ? lexical : { ...lexical, documentWeight: opts.documentWeight };
      if (bm25) {
        const [ranked, snapshot] = await Promise.all([
          bm25.search(query, { ...opts, settings }),
          dense?.current(opts.generationId) ?? null,
        ]);
        if (ranked.length === 0) {
          return [];
        }
        // The chunks' fields from the in-memory snapshot when it is current; the rest (it is loading) from SQL.
        const known = new Map<string, ChunkHit>();
        for (const r of ranked) {
          const f = snapshot?.fields(r.chunkId);
          if (f) {
            known.set(r.chunkId, { ...f, headingPath: [...f.headingPath], score: r.score });
          }
        }
        const missing = ranked.filter((r) => !known.has(r.chunkId)).map((r) => r.chunkId);
        if (missing.length > 0) {
          const rows = await queryRows<HitRow>(
            db,
            sql`
            SELECT ${hitColumns}, 0 AS score FROM chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.id = ANY(${sql.param(missing)}::uuid[])`,
          );
          for (const row of rows) {
            known.set(row.chunk_id, toHit(row));
          }
        }
        // A chunk deleted between the two reads is left out rather than returned without text.
        return ranked.flatMap((r) => {
          const hit = known.get(r.chunkId);
          return hit ? [{ ...hit, score: r.score }] : [];
        });
      }
      const ranked = bm25ChunkQuery(query, { ...opts, settings });
      if (!ranked) {
        return [];
      }
      const rows = await queryRows<HitRow>(
        db,
        sql`
        WITH ranked AS (${ranked})
        SELECT ${hitColumns}, r.score
        FROM ranked r JOIN chunks c ON c.id = r.chunk_id JOIN documents d ON d.id = c.document_id
        ORDER BY r.score DESC, c.id`,
      );
      return rows.map(toHit);
    },

    storedVectors(generationId, chunkIds, collections) {
      const out = new Map<string, Float32Array>();
      const snapshot = dense?.latest(generationId);
      if (!snapshot || (collections && collections.length === 0)) {
        return out;
      }
      for (const id of chunkIds) {
        const v = snapshot.vector(id);
        if (v && (!collections || collections.includes(snapshot.fields(id)!.collection))) {
          out.set(id, v);
        }
      }
      return out;
    },

    async countChunks(generationId) {
      const rows = await queryRows<{ n: number }>(
        db,
        sql`SELECT count(*)::int AS n FROM chunks WHERE generation_id = ${generationId}`,
      );
      return rows[0]?.n ?? 0;
    },

    async dropGeneration(generationId) {
      const g = Math.trunc(generationId);
      await db.transaction(async (tx) => {
        // Chunk postings go with their chunks (cascade); document postings and stats are per generation.
        await tx.execute(sql`DELETE FROM lexical_document_postings WHERE generation_id = ${g}`);
        await tx.delete(chunks).where(eq(chunks.generationId, g));
        await tx.execute(sql`DELETE FROM lexical_stats WHERE generation_id = ${g}`);
      });
      await db.execute(sql.raw(`DROP INDEX IF EXISTS chunks_embedding_g${g}`));
      dims.delete(g);
      dense?.forget(g);
    },
  };
}

function toHit(r: HitRow): ChunkHit {
  return { ...chunkFieldsOf(r), score: Number(r.score) };
}
