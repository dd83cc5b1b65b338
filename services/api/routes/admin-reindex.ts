import { Hono } from "hono";
import { ReindexRequestSchema } from "../../../schemas/api.js";
import type { AppEnv } from "../context.js";
import { requireCore } from "../require-core.js";
import { ApiError } from "../errors.js";
import { parseJsonBody } from "../query.js";
import { scopeOf } from "../tenant.js";

/**
 * POST /admin/reindex: builds a new index generation in the background (with the configured
 * embedder, or `embeddingModel`) while the current one keeps answering; 202 with its id.
 * Progress is in GET /status.
 */
export const adminReindexRoute = new Hono<AppEnv>().post("/", async (c) => {
  const { core, admin } = c.var.deps;
  requireCore(core);
  requireCore(admin);
  // A re-index reads and rewrites every tenant's documents: only an admin key for all collections may start one.
  if (scopeOf(c) !== null) {
    throw new ApiError(
      "forbidden",
      "Re-indexing covers every collection; it needs an admin key for all collections (*).",
    );
  }
  const body = await parseJsonBody(c, ReindexRequestSchema, { optional: true });
  // A refusal (ReindexError) is answered by the app's error mapping (services/api/errors.ts).
  const { generationId } = await admin.startReindex(body.embeddingModel);
  return c.json({ generationId, status: "building", progress: "/status" }, 202);
});
