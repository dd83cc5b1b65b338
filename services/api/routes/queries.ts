import { Hono } from "hono";
import { z } from "zod";
import { createQueryMetricsStore } from "../../../pipelines/store/query-metrics.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";
import { scopeOf } from "../tenant.js";

const QueryIdSchema = z.uuid({ error: "the query id must be the queryId of an /ask response" });

/**
 * GET /queries/:id/metrics: an answer's quality metrics, computed after it was sent.
 * `{queryId, status: pending | done | skipped, metrics}`; `pending` for a second or two after the
 * answer, `skipped` when the service was too busy to measure it (under load they are sampled).
 * 404 not_found for an unknown id, or another tenant's.
 */
export const queriesRoute = new Hono<AppEnv>().get("/:id/metrics", async (c) => {
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
});
