import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { BODY_ERRORS, defineRoute, errors, GUARDED_ERRORS, json, named, type RouteHandler } from "../contract.js";
import { EXAMPLE_QUERY_ID } from "../examples.js";
import { isWellFormedText, notWellFormed } from "../../../schemas/text.js";
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

const FeedbackAcceptedSchema = z
  .object({ id: z.int(), queryId: z.uuid(), rating: z.int() })
  .openapi("FeedbackAccepted");

const route = createRoute({
  method: "post",
  path: "/",
  summary: "Rate an answer (-1 or 1, with an optional comment); stored with its query",
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: named("FeedbackRequest", FeedbackRequestSchema) } },
    },
  },
  responses: {
    201: json("Stored", FeedbackAcceptedSchema, { id: 7, queryId: EXAMPLE_QUERY_ID, rating: 1 }),
    ...errors({
      invalid_request: "not JSON, an unknown field, a queryId that is not a uuid, a rating other than -1 or 1",
      not_found: "no logged answer the key may read has that queryId",
      index_not_ready: "the service is still starting",
      ...BODY_ERRORS,
      ...GUARDED_ERRORS,
    }),
  },
});

/**
 * POST /feedback {queryId, rating: -1 | 1, comment?}: rates an answer; stored with its query.
 * 201 with the feedback id; 404 not_found for a queryId no /ask returned (or already purged).
 */
const recordFeedback: RouteHandler = async (c) => {
  const { queryId, rating, comment } = await parseJsonBody(c, FeedbackRequestSchema);
  const { core } = c.var.deps;
  requireCore(core);
  // Another tenant's queryId is answered as unknown (404, not 403), so query ids do not leak.
  const row = await core.catalog.recordFeedback({ queryId, rating, comment: comment || null }, scopeOf(c));
  if (!row) {
    throw new ApiError("not_found", `No answer with queryId ${queryId}; feedback rates a logged /ask response.`);
  }
  return c.json({ id: row.id, queryId, rating }, 201);
};

export const feedbackRoute = defineRoute(route, recordFeedback);
