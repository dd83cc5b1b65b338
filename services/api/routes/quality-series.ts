import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import type { QualityFilter } from "../../../pipelines/store/quality-queries.js";
import { createQualitySeries } from "../../../pipelines/store/quality-series.js";
import { qualityQuerySchema } from "../../common/quality-window.js";
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

/**
 * GET /quality/series?since=&until=&collection=&bucket=: the window's answers in time buckets
 * (15m, 1h, 1d...; chosen for about 60 points when unset): per bucket the query count, abstention
 * rate, mean faithfulness, answer relevancy and context precision, latency p50 and p95.
 */
export const qualitySeriesRoute = new Hono<AppEnv>().get("/", async (c) => {
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
});
