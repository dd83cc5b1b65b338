import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createQualityQueries, QUALITY_METRIC_NAMES } from "../../../pipelines/store/quality-queries.js";
import { qualityQuerySchema, qualityWindowQuery } from "../../common/quality-window.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";
import { requireCore } from "../require-core.js";
import { parseQuery } from "../query.js";
import { requireCollection, scopeOf } from "../tenant.js";

const nullableNumber = z.number().nullable();
const QualityReportSchema = z
  .object({
    window: z.object({ since: z.string(), until: z.string() }),
    collection: z.string().nullable(),
    queries: z.int(),
    answered: z.int(),
    abstained: z.int(),
    abstentionRate: nullableNumber.describe("abstained / queries; null without queries."),
    metrics: z
      .object(
        Object.fromEntries(QUALITY_METRIC_NAMES.map((m) => [m, z.object({ mean: nullableNumber, count: z.int() })])),
      )
      .describe("Mean of each metric over the queries where it is not null, and that number of queries."),
    latencyMs: z
      .object({ p50: nullableNumber, p95: nullableNumber, p99: nullableNumber })
      .describe("Percentiles of timings.totalMs."),
    tokensPerQuery: z.object({ context: nullableNumber, answer: nullableNumber }),
    feedback: z
      .object({ up: z.int(), down: z.int(), withComment: z.int() })
      .describe("Ratings of the window's queries."),
  })
  .openapi("QualityReport");

const metricExample = { mean: 0.82, count: 40 };

const route = createRoute({
  method: "get",
  path: "/",
  summary:
    "Quality of the answers logged in a time window: metric means, abstention rate, latency percentiles, tokens, feedback",
  request: { query: qualityWindowQuery() },
  responses: {
    200: json("The window's aggregates", QualityReportSchema, {
      window: { since: "2026-01-30T09:00:00.000Z", until: "2026-01-31T09:00:00.000Z" },
      collection: null,
      queries: 42,
      answered: 38,
      abstained: 4,
      abstentionRate: 0.0952,
      metrics: Object.fromEntries(QUALITY_METRIC_NAMES.map((m) => [m, metricExample])),
      latencyMs: { p50: 31.2, p95: 88.4, p99: 140.9 },
      tokensPerQuery: { context: 1210, answer: 64 },
      feedback: { up: 5, down: 1, withComment: 2 },
    }),
    ...errors({
      invalid_request: "a malformed time, since not before until, an unknown parameter",
      not_found: "the collection is not one the key may read",
      index_not_ready: "the service is still starting",
      ...GUARDED_ERRORS,
    }),
  },
});

/**
 * GET /quality?since=&until=&collection=: the answers logged in a window (default: the last 24
 * hours): how many, how many abstained, the mean of each quality metric with the count it is over,
 * latency percentiles, tokens per query and the feedback they got.
 */
const summarize: RouteHandler = async (c) => {
  const q = parseQuery(c, qualityQuerySchema(new Date()));
  const { core } = c.var.deps;
  requireCore(core);
  // Tenancy: a named collection outside the key's scope is unknown; without one, only the key's own collections count.
  requireCollection(c, q.collection);
  const scope = scopeOf(c);
  return c.json(
    await createQualityQueries(core.database.db).summary({ ...q, ...(scope ? { collections: scope } : {}) }),
  );
};

export const qualityRoute = defineRoute(route, summarize);
