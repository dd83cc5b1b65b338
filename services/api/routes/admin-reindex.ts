import { Hono } from "hono";
import { ReindexRequestSchema } from "../../../schemas/api.js";
import { ReindexError } from "../../common/reindex.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";

/**
 * POST /admin/reindex: builds a new index generation in the background (with the configured
 * embedder, or `embeddingModel`) while the current one keeps answering; 202 with its id.
 * Progress is in GET /status.
 */
export const adminReindexRoute = new Hono<AppEnv>().post("/", async (c) => {
  const { core, admin } = c.var.deps;
  if (!core || !admin) throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  const raw = await c.req.text();
  let body: unknown = {};
  if (raw.trim() !== "") {
    try {
      body = JSON.parse(raw);
    } catch {
      throw new ApiError("invalid_request", "The request body is not valid JSON.");
    }
  }
  const parsed = ReindexRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new ApiError("invalid_request", parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  }
  try {
    const { generationId } = await admin.startReindex(parsed.data.embeddingModel);
    return c.json({ generationId, status: "building", progress: "/status" }, 202);
  } catch (err) {
    if (err instanceof ReindexError) {
      throw new ApiError(err.code === "build_running" ? "reindex_in_progress" : "invalid_request", err.message);
    }
    throw err;
  }
});
