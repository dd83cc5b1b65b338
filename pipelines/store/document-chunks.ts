import { sql } from "drizzle-orm";
import { queryRows, type Drizzle } from "./database.js";

/** Where one chunk sits in its document's parsed text (what the source viewer highlights). */
export interface ChunkSpan {
  id: string;
  ordinal: number;
  start: number;
  end: number;
  page: number | null;
  headingPath: string[];
}

/**
 * The chunks one index generation holds of a document, in document order. The caller has already
 * checked that the document is in the reader's scope (createDocumentQueries.get).
 */
export async function documentChunkSpans(db: Drizzle, documentId: string, generationId: number): Promise<ChunkSpan[]> {
  const rows = await queryRows<{
    id: string;
    ordinal: number;
    start_offset: number;
    end_offset: number;
    page: number | null;
    heading_path: unknown;
  }>(
    db,
    sql`SELECT id, ordinal, start_offset, end_offset, page, heading_path FROM chunks
        WHERE document_id = ${documentId} AND generation_id = ${generationId} ORDER BY ordinal`,
  );
  return rows.map((r) => ({
    id: String(r.id),
    ordinal: Number(r.ordinal),
    start: Number(r.start_offset),
    end: Number(r.end_offset),
    page: r.page === null ? null : Number(r.page),
    headingPath: Array.isArray(r.heading_path)
      ? (r.heading_path as string[])
      : (JSON.parse(String(r.heading_path)) as string[]),
  }));
}
