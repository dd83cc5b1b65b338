import { and, asc, count, eq, type SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import { documents, sources } from "../../schemas/db.js";
import { queryRows, type Drizzle } from "./database.js";

export interface DocumentFilter {
  status?: "pending" | "indexed" | "failed" | undefined;
  sourceId?: string | undefined;
  collection?: string | undefined;
}

const columns = {
  id: documents.id,
  sourceId: documents.sourceId,
  root: sources.root,
  path: documents.path,
  collection: documents.collection,
  status: documents.status,
  contentHash: documents.contentHash,
  format: documents.format,
  title: documents.title,
  sizeBytes: documents.sizeBytes,
  chunkCount: documents.chunkCount,
  pageCount: documents.pageCount,
  errorCode: documents.errorCode,
  error: documents.error,
  indexedAt: documents.indexedAt,
  updatedAt: documents.updatedAt,
};

/** Read-only views of the documents table for operators (GET /documents, the status CLI). */
export function createDocumentQueries(db: Drizzle) {
  return {
    /** One page in a stable order (source, path, id), with the total that matches the filter. */
    async list(filter: DocumentFilter, page: { limit: number; offset: number }) {
      const where: SQL[] = [];
      if (filter.status) where.push(eq(documents.status, filter.status));
      if (filter.sourceId) where.push(eq(documents.sourceId, filter.sourceId));
      if (filter.collection) where.push(eq(documents.collection, filter.collection));
      const cond = where.length ? and(...where) : undefined;
      const [rows, total] = await Promise.all([
        db
          .select(columns)
          .from(documents)
          .innerJoin(sources, eq(sources.id, documents.sourceId))
          .where(cond)
          .orderBy(asc(documents.sourceId), asc(documents.path), asc(documents.id))
          .limit(page.limit)
          .offset(page.offset),
        db.select({ n: count() }).from(documents).where(cond),
      ]);
      return { rows, total: Number(total[0]?.n ?? 0) };
    },

    /**
     * A document with the versions the index holds of it: chunks per index generation (a
     * re-index keeps the old generation's chunks until the switch). Undefined for an unknown id.
     */
    async get(id: string) {
      const row = (
        await db.select(columns).from(documents).innerJoin(sources, eq(sources.id, documents.sourceId)).where(eq(documents.id, id))
      )[0];
      if (!row) return undefined;
      const versions = await queryRows<{ generation_id: number; status: string; chunks: number; pages: number | null }>(
        db,
        sql`SELECT c.generation_id, g.status, count(*)::int AS chunks, count(DISTINCT c.page)::int AS pages
            FROM chunks c JOIN index_generations g ON g.id = c.generation_id
            WHERE c.document_id = ${id} GROUP BY c.generation_id, g.status ORDER BY c.generation_id DESC`,
      );
      return {
        ...row,
        versions: versions.map((v) => ({
          generationId: Number(v.generation_id),
          generationStatus: v.status,
          chunks: Number(v.chunks),
          pages: v.pages ? Number(v.pages) : null,
        })),
      };
    },
  };
}
