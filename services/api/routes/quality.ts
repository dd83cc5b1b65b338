import { Hono } from "hono";
import { createQualityQueries } from "../../../pipelines/store/quality-queries.js";
import { qualityQuerySchema } from "../../common/quality-window.js";
import type { AppEnv } from "../context.js";
import { requireCore } from "../require-core.js";
import { parseQuery } from "../query.js";
import { requireCollection, scopeOf } from "../tenant.js";

/**
 * GET /quality?since=&until=&collection=: the answers logged in a window (default: the last 24
 * hours): how many, how many abstained, the mean of each quality metric with the count it is over,
 * latency percentiles, tokens per query and the feedback they got.
 */
export const qualityRoute = new Hono<AppEnv>().get("/", async (c) => {
  const q = parseQuery(c, qualityQuerySchema(new Date()));
  const { core } = c.var.deps;
  requireCore(core);
  // Tenancy: a named collection outside the key's scope is unknown; without one, only the key's own collections count.
  requireCollection(c, q.collection);
  const scope = scopeOf(c);
  return c.json(
    await createQualityQueries(core.database.db).summary({ ...q, ...(scope ? { collections: scope } : {}) }),
  );
});
