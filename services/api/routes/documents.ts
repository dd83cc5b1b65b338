import { Hono } from "hono";
import { z } from "zod";
import { createDocumentQueries } from "../../../pipelines/store/document-queries.js";
import type { AppEnv } from "../context.js";
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

/**
 * GET /documents?status=&source=&collection=&limit=&offset=: the catalog, one page at a time
 * in a stable order (source, path). `nextOffset` is null on the last page.
 */
export const documentsRoute = new Hono<AppEnv>().get("/", async (c) => {
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
});
