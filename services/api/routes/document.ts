import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createDocumentQueries } from "../../../pipelines/store/document-queries.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";
import { DocumentSchema, exampleDocument } from "./documents.js";
import { requireCore } from "../require-core.js";
import { ApiError } from "../errors.js";
import { scopeOf } from "../tenant.js";

const DocumentDetailSchema = DocumentSchema.extend({
  pages: z.array(
    z.object({
      page: z.int(),
      textLayer: z.enum(["native", "ocr", "none"]),
      ocrConfidence: z.number().nullable(),
      chars: z.int(),
      errorCode: z
        .string()
        .nullable()
        .describe("Why a page has no text: ocr_empty, ocr_timeout, ocr_failed, render_failed, ocr_off."),
      error: z.string().nullable(),
    }),
  ),
  versions: z.array(
    z.object({ generationId: z.int(), generationStatus: z.string(), chunks: z.int(), pages: z.int().nullable() }),
  ),
}).openapi("DocumentDetail");

const route = createRoute({
  method: "get",
  path: "/{id}",
  summary: "One document: hashes, times, chunk and page counts, failure reason, versions per index generation",
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: json("The document", DocumentDetailSchema, {
      ...exampleDocument,
      pages: [],
      versions: [{ generationId: 1, generationStatus: "active", chunks: 6, pages: null }],
    }),
    ...errors({
      not_found: "no document with that id the key may read (a malformed id included)",
      index_not_ready: "the service is still starting",
      ...GUARDED_ERRORS,
    }),
  },
});

/**
 * GET /documents/:id: one document with its content hash, indexed/updated times, chunk and page
 * counts, the failure code and reason, and the versions (chunks per index generation) it has.
 */
const readDocument: RouteHandler<"/:id"> = async (c) => {
  const id = c.req.param("id");
  const { core } = c.var.deps;
  requireCore(core);
  // Another tenant's id reads as unknown (the scope is in the query), so ids do not leak.
  // A malformed id cannot name a document; answer as for an unknown one (and spare the uuid cast error).
  const doc = z.uuid().safeParse(id).success
    ? await createDocumentQueries(core.database.db, scopeOf(c)).get(id)
    : undefined;
  if (!doc) {
    throw new ApiError("not_found", `No document with id ${JSON.stringify(id.slice(0, 80))}.`);
  }
  return c.json(doc);
};

export const documentRoute = defineRoute(route, readDocument);
