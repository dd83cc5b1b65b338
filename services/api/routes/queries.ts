import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createQueryMetricsStore } from "../../../pipelines/store/query-metrics.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";
import { EXAMPLE_QUERY_ID } from "../examples.js";
import { QueryMetricsSchema } from "../../../schemas/api.js";
import { ApiError } from "../errors.js";
import { scopeOf } from "../tenant.js";

const QueryIdSchema = z.uuid({ error: "the query id must be the queryId of an /ask response" });

const StoredMetricsSchema = z.object({
  queryId: z.uuid(),
  status: z.enum(["pending", "done", "skipped"]).describe("skipped: the service was too busy to measure it."),
  metrics: QueryMetricsSchema.nullable(),
});

const route = createRoute({
  method: "get",
  path: "/{id}/metrics",
  summary: "An answer's quality metrics, computed after it was sent",
  request: { params: z.object({ id: QueryIdSchema }) },
  responses: {
    200: json("Where the metrics stand", StoredMetricsSchema, {
      queryId: EXAMPLE_QUERY_ID,
      status: "done",
      metrics: {
        method: "embedding+lexical",
        faithfulness: 1,
        answerRelevancy: 0.84,
        contextPrecision: 0.75,
        contextUtilisation: 0.75,
        contextRecall: null,
        answerCorrectness: null,
      },
    }),
    ...errors({
      invalid_request: "the id is not a uuid",
      not_found: "no logged answer the key may read has that queryId",
      index_not_ready: "the service is still starting",
      ...GUARDED_ERRORS,
    }),
  },
});

/**
 * GET /queries/:id/metrics: an answer's quality metrics, computed after it was sent.
 * `{queryId, status: pending | done | skipped, metrics}`; `pending` for a second or two after the
 * answer, `skipped` when the service was too busy to measure it (under load they are sampled).
 * 404 not_found for an unknown id, or another tenant's.
 */
const readMetrics: RouteHandler<"/:id/metrics"> = async (c) => {
  const id = QueryIdSchema.safeParse(c.req.param("id"));
  if (!id.success) {
    throw new ApiError("invalid_request", id.error.issues[0]?.message ?? "invalid query id");
  }
  const { core } = c.var.deps;
  if (!core) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
  const found = await createQueryMetricsStore(core.database.db).read(id.data, scopeOf(c));
  if (!found) {
    throw new ApiError("not_found", `No answer with queryId ${id.data}.`);
  }
  return c.json(found);
};

export const queriesRoute = defineRoute(route, readMetrics);
