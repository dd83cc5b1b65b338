import { and, eq, sql, type SQL } from "drizzle-orm";
import { chunks } from "../../schemas/db.js";
import { queryRows, type Drizzle } from "./database.js";
import type { ChunkHit, SearchOptions, StoredChunk, VectorStore } from "./types.js";

interface HitRow extends Record<string, unknown> {
  chunk_id: string;
  document_id: string;
  source_id: string;
  path: string;
  collection: string;
  ordinal: number;
  text: string;
  page: number | null;
  heading_path: string[];
  token_count: number;
  score: number;
}

/**
 * pgvector in the service's own PostgreSQL (or PGlite). Each generation has its own partial HNSW
 * index on `(embedding::vector(d))`; queries repeat that expression and predicate so the planner
 * can use it.
 */
export function createPgvectorStore(db: Drizzle): VectorStore {
  const dims = new Map<number, number>();

  async function dimensionOf(generationId: number): Promise<number> {
    const known = dims.get(generationId);
    if (known !== undefined) return known;
    const rows = await queryRows<{ d: number }>(
      db,
      sql`SELECT (embedder->>'dimensions')::int AS d FROM index_generations WHERE id = ${generationId}`,
    );
    const d = rows[0]?.d;
    if (d === undefined) throw new Error(`index generation ${generationId} does not exist`);
    dims.set(generationId, d);
    return d;
  }

  function collectionFilter(opts: SearchOptions): SQL {
    return opts.collections && opts.collections.length > 0
      ? sql`AND c.collection IN (${sql.join(
          opts.collections.map((c) => sql`${c}`),
          sql`, `,
        )})`
      : sql``;
  }

  const hitColumns = sql`c.id AS chunk_id, c.document_id, d.source_id, d.path, c.collection, c.ordinal,
    c.text, c.page, c.heading_path, c.token_count`;

  return {
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
        await tx
          .delete(chunks)
          .where(and(eq(chunks.generationId, generationId), eq(chunks.documentId, doc.documentId)));
        if (rows.length === 0) return;
        await tx.insert(chunks).values(
          rows.map((c) => ({
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
      });
    },

    async deleteDocumentChunks(documentId) {
      await db.delete(chunks).where(eq(chunks.documentId, documentId));
    },

    async searchDense(embedding, opts) {
      const d = await dimensionOf(opts.generationId);
      const g = opts.generationId;
      const q = `[${embedding.join(",")}]`;
      const rows = await queryRows<HitRow>(db, sql`
        SELECT ${hitColumns},
               1 - ((c.embedding::vector(${sql.raw(String(d))})) <=> ${q}::vector(${sql.raw(String(d))})) AS score
        FROM chunks c JOIN documents d ON d.id = c.document_id
        WHERE c.generation_id = ${sql.raw(String(Math.trunc(g)))} ${collectionFilter(opts)}
        ORDER BY (c.embedding::vector(${sql.raw(String(d))})) <=> ${q}::vector(${sql.raw(String(d))})
        LIMIT ${opts.topK}`);
      return rows.map(toHit);
    },

    async searchLexical(query, opts) {
      const terms = lexicalTerms(query);
      if (terms.length === 0) return [];
      // OR of the question's words: plainto_tsquery would AND them and miss most passages.
      const tsquery = terms.join(" | ");
      const rows = await queryRows<HitRow>(db, sql`
        WITH q AS (SELECT to_tsquery('english', ${tsquery}) AS q)
        SELECT ${hitColumns}, ts_rank_cd(c.tsv, q.q, 1) AS score
        FROM chunks c JOIN documents d ON d.id = c.document_id, q
        WHERE c.generation_id = ${opts.generationId} AND c.tsv @@ q.q ${collectionFilter(opts)}
        ORDER BY score DESC, c.id
        LIMIT ${opts.topK}`);
      return rows.map(toHit);
    },

    async countChunks(generationId) {
      const rows = await queryRows<{ n: number }>(
        db,
        sql`SELECT count(*)::int AS n FROM chunks WHERE generation_id = ${generationId}`,
      );
      return rows[0]?.n ?? 0;
    },
  };
}

/** Words safe to put in a to_tsquery expression (letters and digits only). */
export function lexicalTerms(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].slice(0, 64);
}

function toHit(r: HitRow): ChunkHit {
  return {
    chunkId: r.chunk_id,
    documentId: r.document_id,
    sourceId: r.source_id,
    path: r.path,
    collection: r.collection,
    ordinal: Number(r.ordinal),
    text: r.text,
    page: r.page === null ? null : Number(r.page),
    headingPath: typeof r.heading_path === "string" ? (JSON.parse(r.heading_path) as string[]) : r.heading_path,
    tokenCount: Number(r.token_count),
    score: Number(r.score),
  };
}
