import { basename } from "node:path";
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { isPipelineError } from "../../../pipelines/errors.js";
import { maskParsedText } from "../../../pipelines/guard/pii.js";
import { sha256 } from "../../../pipelines/ingest/embed-chunks.js";
import { readSourceFile, resolveInside } from "../../../pipelines/ingest/read-source.js";
import { parseDocument } from "../../../pipelines/parse/index.js";
import { documentChunkSpans } from "../../../pipelines/store/document-chunks.js";
import { createDocumentQueries } from "../../../pipelines/store/document-queries.js";
import { defineRoute, errors, GUARDED_ERRORS, type RouteHandler } from "../contract.js";
import { EXAMPLE_DOCUMENT_ID } from "../examples.js";
import { ApiError } from "../errors.js";
import { parseQuery } from "../query.js";
import { scopeOf } from "../tenant.js";

const ContentQuerySchema = z.object({ view: z.enum(["raw", "text"]).default("raw") }).strict();

// The file is served as data, never as a page: a sandboxed, script-less document even if opened directly.
const RAW_CSP = "sandbox; default-src 'none'; frame-ancestors 'self'";

const DocumentTextSchema = z.object({
  id: z.uuid(),
  path: z.string(),
  collection: z.string(),
  format: z.string(),
  title: z.string().nullable(),
  pageCount: z.int().nullable(),
  changed: z.boolean().describe("The file changed since it was indexed: the chunks' offsets may be off."),
  text: z.string().describe("The parsed text the chunks' offsets point into."),
  chunks: z.array(
    z.object({
      id: z.string(),
      ordinal: z.int(),
      start: z.int(),
      end: z.int(),
      page: z.int().nullable(),
      headingPath: z.array(z.string()),
    }),
  ),
});

const route = createRoute({
  method: "get",
  path: "/{id}/content",
  summary:
    "The document's source for the web app's viewer: the file (PDF as application/pdf, everything else as " +
    "text/plain), or with view=text JSON with the parsed text and the chunks' offsets",
  request: { params: z.object({ id: z.uuid() }), query: ContentQuerySchema },
  responses: {
    200: {
      description: "The file (view=raw), or its parsed text (view=text)",
      content: {
        "application/pdf": { schema: z.string().openapi({ format: "binary" }) },
        "text/plain": { schema: z.string(), example: "# Leave\n\nEmployees accrue 25 days of paid leave per year." },
        "application/json": {
          schema: DocumentTextSchema,
          example: {
            id: EXAMPLE_DOCUMENT_ID,
            path: "handbook/leave.md",
            collection: "default",
            format: "md",
            title: "Leave",
            pageCount: null,
            changed: false,
            text: "# Leave\n\nEmployees accrue 25 days of paid leave per year.",
            chunks: [
              { id: `${EXAMPLE_DOCUMENT_ID}:0`, ordinal: 0, start: 0, end: 58, page: null, headingPath: ["Leave"] },
            ],
          },
        },
      },
    },
    ...errors({
      invalid_request: "view other than raw or text, or an unknown parameter",
      not_found: "unknown, another tenant's, gone from its folder, or no longer parseable",
      index_not_ready: "the service is still starting",
      ...GUARDED_ERRORS,
      forbidden: "PII_MASK_INGEST is on and the file itself was asked for, or the key lacks the read scope",
    }),
  },
});

/**
 * GET /documents/:id/content: the source behind a citation, for the web app's viewer, to a key
 * that may read the document's collection (another tenant's id is 404, as for GET /documents/:id).
 * `view=raw` (default): the file itself, PDF as application/pdf, everything else as text/plain
 * (an HTML source is shown, not rendered). `view=text`: JSON with the parsed text that chunk
 * offsets point into and the current generation's chunks, so the viewer can highlight a citation.
 */
const showContent: RouteHandler<"/:id/content"> = async (c) => {
  const id = c.req.param("id");
  const { view } = parseQuery(c, ContentQuerySchema);
  const { core, config } = c.var.deps;
  if (!core) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
  const doc = z.uuid().safeParse(id).success
    ? await createDocumentQueries(core.database.db, scopeOf(c)).get(id)
    : undefined;
  if (!doc) {
    throw new ApiError("not_found", `No document with id ${JSON.stringify(id.slice(0, 80))}.`);
  }

  let bytes: Uint8Array;
  try {
    // The same containment checks as ingestion: no `..`, no symbolic link out of the watched folder.
    const read = await readSourceFile(
      resolveInside(doc.root, doc.path),
      doc.path,
      config.MAX_FILE_BYTES ?? 50 * 1024 * 1024,
      doc.root,
    );
    if (read.kind === "gone") {
      throw new ApiError("not_found", `"${doc.path}" is no longer in its watched folder.`);
    }
    bytes = read.bytes;
  } catch (err) {
    if (isPipelineError(err) && !err.retryable) {
      throw new ApiError("not_found", `"${doc.path}" cannot be shown: ${err.message}`);
    }
    throw err;
  }

  if (view === "raw") {
    // With PII_MASK_INGEST the index holds masked text only; the file itself would hand out what was masked.
    if (core.maskPiiOnIngest) {
      throw new ApiError(
        "forbidden",
        "PII_MASK_INGEST is on: only the masked text (view=text) of a document is served, not the file.",
      );
    }
    const pdf = doc.format === "pdf" || doc.path.toLowerCase().endsWith(".pdf");
    return new Response(bytes, {
      headers: {
        "Content-Type": pdf ? "application/pdf" : "text/plain; charset=utf-8",
        "Content-Disposition": `inline; filename*=UTF-8''${encodeURIComponent(basename(doc.path))}`,
        "Content-Security-Policy": RAW_CSP,
        "Cache-Control": "private, no-store",
      },
    });
  }

  let parsed: Awaited<ReturnType<typeof parseDocument>>;
  try {
    const raw = await parseDocument(bytes, doc.path);
    parsed = core.maskPiiOnIngest ? { ...raw, ...maskParsedText(raw) } : raw;
  } catch (err) {
    if (isPipelineError(err) && !err.retryable) {
      throw new ApiError("not_found", `"${doc.path}" cannot be shown: ${err.message}`);
    }
    throw err;
  }
  const served = await core.runtime.refresh();
  return c.json({
    id: doc.id,
    path: doc.path,
    collection: doc.collection,
    format: parsed.format,
    title: parsed.title,
    pageCount: parsed.pageCount,
    // Offsets are only right for the content that was indexed; the viewer says so when it has changed since.
    changed: doc.contentHash !== sha256(bytes),
    text: parsed.text,
    chunks: await documentChunkSpans(core.database.db, doc.id, served.generation.id),
  });
};

export const documentContentRoute = defineRoute(route, showContent);
