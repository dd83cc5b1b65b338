import { Hono } from "hono";
import { z } from "zod";
import { isWellFormedText, notWellFormed } from "../../../schemas/text.js";
import type { AppEnv } from "../context.js";
import { requireCore } from "../require-core.js";
import { ApiError } from "../errors.js";
import { parseJsonBody } from "../query.js";
import { scopeOf } from "../tenant.js";

export const FeedbackRequestSchema = z
  .object({
    queryId: z.uuid({ error: "queryId must be the queryId of an /ask response" }),
    rating: z.union([z.literal(-1), z.literal(1)], { error: "rating must be -1 (bad answer) or 1 (good answer)" }),
    comment: z.string().trim().max(2000).refine(isWellFormedText, notWellFormed("comment")).optional(),
  })
  .strict();

/**
 * POST /feedback {queryId, rating: -1 | 1, comment?}: rates an answer; stored with its query.
 * 201 with the feedback id; 404 not_found for a queryId no /ask returned (or already purged).
 */
export const feedbackRoute = new Hono<AppEnv>().post("/", async (c) => {
  const { queryId, rating, comment } = await parseJsonBody(c, FeedbackRequestSchema);
  const { core } = c.var.deps;
  requireCore(core);
  // Another tenant's queryId is answered as unknown (404, not 403), so query ids do not leak.
  const row = await core.catalog.recordFeedback({ queryId, rating, comment: comment || null }, scopeOf(c));
  if (!row) {
    throw new ApiError("not_found", `No answer with queryId ${queryId}; feedback rates a logged /ask response.`);
  }
  return c.json({ id: row.id, queryId, rating }, 201);
});
