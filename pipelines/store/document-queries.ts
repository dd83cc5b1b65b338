import { and, asc, count, eq, inArray, type SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import { documents, sources } from "../../schemas/db.js";
import { queryRows, type Drizzle } from "./database.js";
import { createPageStore } from "./page-queries.js";
import type { CollectionScope } from "./scoped-store.js";

export interface DocumentFilter {
  status?: "pending" | "indexed" | "failed" | undefined;
  sourceId?: string | undefined;
  collection?: string | undefined;
}

// A tenant with no collections sees no documents; an empty IN () is not valid SQL.
const inScope = (collections: readonly string[]): SQL =>
  collections.length ? inArray(documents.collection, [...collections]) : sql`false`;

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
  textLayer: documents.textLayer,
  ocrConfidence: documents.ocrConfidence,
  errorCode: documents.errorCode,
  error: documents.error,
  indexedAt: documents.indexedAt,
  updatedAt: documents.updatedAt,
};

/**
 * Read-only views of the documents table (GET /documents, GET /documents/:id). `scope` is the
 * caller's tenant: only documents of these collections (none when empty), or null for all. It is a
 * required argument, so no caller can forget it.
 */
export function createDocumentQueries(db: Drizzle, scope: CollectionScope) {
  return {
    /** One page in a stable order (source, path, id), with the total that matches the filter. */
    async list(filter: DocumentFilter, page: { limit: number; offset: number }) {
      const where: SQL[] = [];
      if (filter.status) {
        where.push(eq(documents.status, filter.status));
      }
      if (filter.sourceId) {
        where.push(eq(documents.sourceId, filter.sourceId));
      }
      if (filter.collection) {
        where.push(eq(documents.collection, filter.collection));
      }
      if (scope) {
        where.push(inScope(scope));
      }
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
     * re-index keeps the old generation's chunks until the switch). Undefined for an unknown id,
     * and for a document outside `scope`: another tenant's id is answered as if it did not exist.
     */
    async get(id: string) {
      const where = scope ? and(eq(documents.id, id), inScope(scope)) : eq(documents.id, id);
      const row = (
        await db.select(columns).from(documents).innerJoin(sources, eq(sources.id, documents.sourceId)).where(where)
      )[0];
      if (!row) {
        return undefined;
      }
      const versions = await queryRows<{ generation_id: number; status: string; chunks: number; pages: number | null }>(
        db,
        sql`SELECT c.generation_id, g.status, count(*)::int AS chunks, count(DISTINCT c.page)::int AS pages
            FROM chunks c JOIN index_generations g ON g.id = c.generation_id
            WHERE c.document_id = ${id} GROUP BY c.generation_id, g.status ORDER BY c.generation_id DESC`,
      );
      return {
        ...row,
        // Per page of a PDF: native or ocr text, or none with the reason (0015).
        pages: await createPageStore(db).pagesOf(id),
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
