import { Hono } from "hono";
import { z } from "zod";
import { createDocumentQueries } from "../../../pipelines/store/document-queries.js";
import type { AppEnv } from "../context.js";
import { requireCore } from "../require-core.js";
import { ApiError } from "../errors.js";
import { scopeOf } from "../tenant.js";

/**
 * GET /documents/:id: one document with its content hash, indexed/updated times, chunk and page
 * counts, the failure code and reason, and the versions (chunks per index generation) it has.
 */
export const documentRoute = new Hono<AppEnv>().get("/:id", async (c) => {
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
});
