import { Hono } from "hono";
import { z } from "zod";
import { createQualitySeries } from "../../../pipelines/store/quality-series.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";
import { windowAndExtra } from "./quality-series.js";

/**
 * GET /quality/recent?since=&until=&collection=&limit=: the newest answers of the window (20,
 * at most 100) with their question, the start of the answer, metrics, latency and feedback.
 */
export const qualityRecentRoute = new Hono<AppEnv>().get("/", async (c) => {
  const { filter, extra } = windowAndExtra(
    c,
    z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      bucket: z.undefined({ error: "unknown parameter bucket" }),
    }),
  );
  const { core } = c.var.deps;
  if (!core) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
  return c.json({ queries: await createQualitySeries(core.database.db).recent(filter, extra.limit) });
});
