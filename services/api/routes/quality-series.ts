import type { Context } from "hono";
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { QualityFilter } from "../../../pipelines/store/quality-queries.js";
import { createQualitySeries } from "../../../pipelines/store/quality-series.js";
import { qualityQuerySchema, qualityWindowQuery } from "../../common/quality-window.js";
import { defineRoute, errors, GUARDED_ERRORS, json, type RouteHandler } from "../contract.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";
import { invalid } from "../query.js";
import { requireCollection, scopeOf } from "../tenant.js";

const UNIT_S = { m: 60, h: 3600, d: 86_400 } as const;
// Bucket sizes chosen when none is asked for: the smallest that keeps a chart to about 60 points.
const NICE_S = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400];
const MAX_BUCKETS = 2000;

const BucketSchema = z
  .string()
  .regex(/^\d{1,4}[mhd]$/, "bucket must be a duration such as 15m, 1h or 1d")
  .transform((v) => Number(v.slice(0, -1)) * UNIT_S[v.slice(-1) as keyof typeof UNIT_S])
  .refine((s) => s > 0, "bucket must be longer than 0");

/**
 * The `?since=&until=&collection=` window of GET /quality, scoped to the caller's collections,
 * plus this route's own parameters (parsed by `extra`).
 */
export function windowAndExtra<S extends z.ZodType>(
  c: Context<AppEnv>,
  extra: S,
): { filter: QualityFilter; extra: z.infer<S> } {
  const { bucket, limit, ...rest } = c.req.query();
  const window = qualityQuerySchema(new Date()).safeParse(rest);
  if (!window.success) {
    throw invalid(window.error);
  }
  const own = extra.safeParse({ bucket, limit });
  if (!own.success) {
    throw invalid(own.error);
  }
  requireCollection(c, window.data.collection);
  const scope = scopeOf(c);
  return { filter: { ...window.data, ...(scope ? { collections: scope } : {}) }, extra: own.data };
}

const SeriesSchema = z.object({
  window: z.object({ since: z.string(), until: z.string() }),
  bucketSeconds: z.int(),
  buckets: z.array(
    z.object({
      start: z.string(),
      queries: z.int(),
      abstentionRate: z.number(),
      faithfulness: z.number().nullable(),
      answerRelevancy: z.number().nullable(),
      contextPrecision: z.number().nullable(),
      latencyP50Ms: z.number().nullable(),
      latencyP95Ms: z.number().nullable(),
    }),
  ),
});

const route = createRoute({
  method: "get",
  path: "/",
  summary:
    "The window's answers in time buckets: query count, abstention rate, mean faithfulness, answer relevancy, " +
    "context precision, latency p50/p95",
  request: {
    query: qualityWindowQuery().extend({
      bucket: z
        .string()
        .optional()
        .meta({ description: "Bucket length such as 15m, 1h, 1d; unset: about 60 buckets over the window." }),
    }),
  },
  responses: {
    200: json("The buckets that have answers, oldest first", SeriesSchema, {
      window: { since: "2026-01-30T09:00:00.000Z", until: "2026-01-31T09:00:00.000Z" },
      bucketSeconds: 1800,
      buckets: [
        {
          start: "2026-01-30T09:00:00.000Z",
          queries: 6,
          abstentionRate: 0.1667,
          faithfulness: 0.91,
          answerRelevancy: 0.78,
          contextPrecision: 0.66,
          latencyP50Ms: 30.5,
          latencyP95Ms: 71.2,
        },
      ],
    }),
    ...errors({
      invalid_request: "a malformed time or bucket, too many buckets, an unknown parameter",
      not_found: "the collection is not one the key may read",
      index_not_ready: "the service is still starting",
      ...GUARDED_ERRORS,
    }),
  },
});

/**
 * GET /quality/series?since=&until=&collection=&bucket=: the window's answers in time buckets
 * (15m, 1h, 1d...; chosen for about 60 points when unset): per bucket the query count, abstention
 * rate, mean faithfulness, answer relevancy and context precision, latency p50 and p95.
 */
const series: RouteHandler = async (c) => {
  const { filter, extra } = windowAndExtra(
    c,
    z.object({ bucket: BucketSchema.optional(), limit: z.undefined({ error: "unknown parameter limit" }) }),
  );
  const spanS = (filter.until.getTime() - filter.since.getTime()) / 1000;
  const bucketS = extra.bucket ?? NICE_S.find((s) => spanS / s <= 60) ?? NICE_S.at(-1)!;
  if (spanS / bucketS > MAX_BUCKETS) {
    throw new ApiError(
      "invalid_request",
      `bucket: ${bucketS} s buckets would cut this window into more than ${MAX_BUCKETS}; choose a larger bucket.`,
    );
  }
  const { core } = c.var.deps;
  if (!core) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
  const buckets = await createQualitySeries(core.database.db).series(filter, bucketS);
  return c.json({
    window: { since: filter.since.toISOString(), until: filter.until.toISOString() },
    bucketSeconds: bucketS,
    buckets,
  });
};

export const qualitySeriesRoute = defineRoute(route, series);
