import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createDocumentQueries } from "../../../pipelines/store/document-queries.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";
import { EXAMPLE_DOCUMENT_ID } from "../examples.js";
import { requireCore } from "../require-core.js";
import { parseQuery } from "../query.js";
import { requireCollection, scopeOf } from "../tenant.js";

export const DOCUMENTS_MAX_LIMIT = 200;

const ListQuerySchema = z
  .object({
    status: z.enum(["pending", "indexed", "failed"]).optional(),
    source: z.string().min(1).max(64).optional().describe("A source id, as /status lists them."),
    collection: z.string().min(1).max(128).optional(),
    limit: z.coerce.number().int().min(1).max(DOCUMENTS_MAX_LIMIT).default(50),
    offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
  })
  .strict();

/** A document of the catalog, as GET /documents lists it. */
export const DocumentSchema = z
  .looseObject({
    id: z.uuid(),
    sourceId: z.string(),
    root: z.string(),
    path: z.string(),
    collection: z.string(),
    status: z.enum(["pending", "indexed", "failed"]),
    contentHash: z.string().nullable(),
    chunkCount: z.int(),
    pageCount: z.int().nullable(),
    textLayer: z
      .enum(["native", "ocr", "mixed", "none"])
      .nullable()
      .describe("Where the text came from; mixed: a PDF with both native and OCR'd pages."),
    ocrConfidence: z.number().nullable().describe("Mean OCR word confidence (0-100) over the OCR'd pages."),
    errorCode: z.string().nullable(),
    error: z.string().nullable(),
    indexedAt: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi("Document");
const DocumentPageSchema = z
  .object({
    documents: z.array(DocumentSchema),
    total: z.int(),
    limit: z.int(),
    offset: z.int(),
    nextOffset: z.int().nullable(),
  })
  .openapi("DocumentPage");

export const exampleDocument = {
  id: EXAMPLE_DOCUMENT_ID,
  sourceId: "docs",
  root: "/srv/docs",
  path: "handbook/leave.md",
  collection: "default",
  status: "indexed" as const,
  contentHash: "9f2c4e7a0b1d3f5e6a8c9b0d2e4f6a7c8b9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f",
  format: "md",
  title: "Leave",
  sizeBytes: 4210,
  chunkCount: 6,
  pageCount: null,
  textLayer: "native" as const,
  ocrConfidence: null,
  errorCode: null,
  error: null,
  indexedAt: "2026-01-30T09:01:40.000Z",
  updatedAt: "2026-01-30T09:01:40.000Z",
};

const route = createRoute({
  method: "get",
  path: "/",
  summary: "The documents of the index, filtered and paged in (source, path) order",
  request: { query: ListQuerySchema },
  responses: {
    200: json("One page", DocumentPageSchema, {
      documents: [exampleDocument],
      total: 1,
      limit: 50,
      offset: 0,
      nextOffset: null,
    }),
    ...errors({
      invalid_request: "an unknown parameter, or one out of its bounds",
      not_found: "the collection is not one the key may read",
      index_not_ready: "the service is still starting",
      ...GUARDED_ERRORS,
    }),
  },
});

/**
 * GET /documents?status=&source=&collection=&limit=&offset=: the catalog, one page at a time
 * in a stable order (source, path). `nextOffset` is null on the last page.
 */
const listDocuments: RouteHandler = async (c) => {
  const q = parseQuery(c, ListQuerySchema);
  const { core } = c.var.deps;
  requireCore(core);
  requireCollection(c, q.collection);
  const { rows, total } = await createDocumentQueries(core.database.db, scopeOf(c)).list(
    { status: q.status, sourceId: q.source, collection: q.collection },
    { limit: q.limit, offset: q.offset },
  );
  const next = q.offset + rows.length;
  return c.json({ documents: rows, total, limit: q.limit, offset: q.offset, nextOffset: next < total ? next : null });
};

export const documentsRoute = defineRoute(route, listDocuments);
