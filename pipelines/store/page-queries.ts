import { asc, eq, sql } from "drizzle-orm";
import { documentPages, documents } from "../../schemas/db.js";
import type { PageText } from "../parse/types.js";
import { queryRows, type Drizzle } from "./database.js";

export type DocumentTextLayer = "native" | "ocr" | "mixed" | "none";

/** A document's text layer and mean OCR confidence, as GET /documents/:id and /status show them. */
export interface TextLayerSummary {
  textLayer: DocumentTextLayer;
  ocrConfidence: number | null;
}

/**
 * Where each page's text came from (migrations/0015_text_layer.sql), written after a document's
 * chunks, and read for the document view, /status and citations.
 */
export function createPageStore(db: Drizzle) {
  return {
    /** Records the indexed version's text layer; `pages` (PDFs) replaces the page rows in one transaction. */
    async record(documentId: string, summary: TextLayerSummary, pages: PageText[] | undefined): Promise<void> {
      await db.transaction(async (tx) => {
        await tx
          .update(documents)
          .set({ textLayer: summary.textLayer, ocrConfidence: summary.ocrConfidence })
          .where(eq(documents.id, documentId));
        await tx.delete(documentPages).where(eq(documentPages.documentId, documentId));
        if (pages?.length) {
          await tx.insert(documentPages).values(pages.map((p) => ({ documentId, ...p })));
        }
      });
    },

    async pagesOf(documentId: string) {
      return db
        .select({
          page: documentPages.page,
          textLayer: documentPages.textLayer,
          ocrConfidence: documentPages.ocrConfidence,
          chars: documentPages.chars,
          errorCode: documentPages.errorCode,
          error: documentPages.error,
        })
        .from(documentPages)
        .where(eq(documentPages.documentId, documentId))
        .orderBy(asc(documentPages.page));
    },
  };
}
export type PageStore = ReturnType<typeof createPageStore>;

/**
 * The text layer of each cited (document, page): "ocr" where the page's text was recognised from
 * its image. One query for all citations of an answer; pages without a row (text formats, or
 * documents indexed before 0015) are absent from the map.
 */
export async function pageTextLayers(
  db: Drizzle,
  refs: Array<{ documentId: string; page: number | null }>,
): Promise<Map<string, "native" | "ocr">> {
  const paged = refs.filter((r): r is { documentId: string; page: number } => r.page !== null);
  if (paged.length === 0) {
    return new Map();
  }
  const ids = [...new Set(paged.map((r) => r.documentId))];
  const rows = await queryRows<{ document_id: string; page: number; text_layer: string }>(
    db,
    sql`SELECT document_id, page, text_layer FROM document_pages
        WHERE document_id = ANY(${sql.param(ids)}::uuid[]) AND text_layer IN ('native', 'ocr')`,
  );
  return new Map(rows.map((r) => [pageKey(r.document_id, Number(r.page)), r.text_layer as "native" | "ocr"]));
}

export const pageKey = (documentId: string, page: number) => `${documentId}#${page}`;

/** Per text layer: how many indexed documents have it, and their OCR'd pages (for GET /status). */
export async function textLayerCounts(db: Drizzle, collections: readonly string[] | null) {
  const scope = collections === null ? sql`true` : sql`d.collection = ANY(${sql.param([...collections])}::text[])`;
  const [docs, pages] = await Promise.all([
    queryRows<{ text_layer: string | null; n: number; conf: number | null }>(
      db,
      sql`SELECT d.text_layer, count(*)::int AS n, avg(d.ocr_confidence)::real AS conf FROM documents d
          WHERE d.status = 'indexed' AND ${scope} GROUP BY d.text_layer`,
    ),
    queryRows<{ text_layer: string; error_code: string | null; n: number }>(
      db,
      sql`SELECT p.text_layer, p.error_code, count(*)::int AS n FROM document_pages p JOIN documents d ON d.id = p.document_id
          WHERE d.status = 'indexed' AND ${scope} GROUP BY p.text_layer, p.error_code`,
    ),
  ]);
  const documentsByLayer: Record<string, number> = {};
  for (const r of docs) {
    documentsByLayer[r.text_layer ?? "unknown"] = Number(r.n);
  }
  const ocrDocs = docs.filter((r) => (r.text_layer === "ocr" || r.text_layer === "mixed") && r.conf !== null);
  const weight = ocrDocs.reduce((n, r) => n + Number(r.n), 0);
  const pagesWithoutText: Record<string, number> = {};
  for (const r of pages.filter((p) => p.text_layer === "none")) {
    pagesWithoutText[r.error_code ?? "unknown"] = Number(r.n);
  }
  return {
    documents: documentsByLayer,
    pages: {
      native: pages.filter((p) => p.text_layer === "native").reduce((n, p) => n + Number(p.n), 0),
      ocr: pages.filter((p) => p.text_layer === "ocr").reduce((n, p) => n + Number(p.n), 0),
      none: pages.filter((p) => p.text_layer === "none").reduce((n, p) => n + Number(p.n), 0),
    },
    /** Pages left without text, by reason (ocr_empty, ocr_timeout, ...). */
    pagesWithoutText,
    /** Mean OCR confidence over documents with OCR'd pages, weighted by document. */
    meanOcrConfidence: weight ? ocrDocs.reduce((s, r) => s + Number(r.conf) * Number(r.n), 0) / weight : null,
  };
}
