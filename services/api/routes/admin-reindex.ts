import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { ReindexRequestSchema } from "../../../schemas/api.js";
import { BODY_ERRORS, defineRoute, errors, GUARDED_ERRORS, json, named, type RouteHandler } from "../contract.js";
import { requireCore } from "../require-core.js";
import { ApiError } from "../errors.js";
import { parseJsonBody } from "../query.js";
import { scopeOf } from "../tenant.js";

const ReindexAcceptedSchema = z
  .object({ generationId: z.int(), status: z.literal("building"), progress: z.literal("/status") })
  .openapi("ReindexAccepted");

const route = createRoute({
  method: "post",
  path: "/",
  summary: "Build a new index generation in the background; queries use the current one until it switches",
  request: {
    body: {
      required: false,
      content: { "application/json": { schema: named("ReindexRequest", ReindexRequestSchema) } },
    },
  },
  responses: {
    202: json("Building; progress in GET /status", ReindexAcceptedSchema, {
      generationId: 2,
      status: "building",
      progress: "/status",
    }),
    ...errors({
      invalid_request: "not JSON, an unknown field, an embeddingModel that is not use-lite, onnx:... or openai:...",
      reindex_in_progress: "a re-index is already building",
      index_not_ready: "the service is still starting",
      service_unavailable: "the database cannot be reached; Retry-After says when to retry",
      ...BODY_ERRORS,
      ...GUARDED_ERRORS,
      forbidden: "the key is not an admin key over all collections, or lacks the admin scope",
    }),
  },
});

/**
 * POST /admin/reindex: builds a new index generation in the background (with the configured
 * embedder, or `embeddingModel`) while the current one keeps answering; 202 with its id.
 * Progress is in GET /status.
 */
const startReindex: RouteHandler = async (c) => {
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
};

export const adminReindexRoute = defineRoute(route, startReindex);
