import { Hono } from "hono";
import { statusReport } from "../../common/status-report.js";
import type { AppEnv } from "../context.js";
import { requireCore } from "../require-core.js";
import { scopeOf } from "../tenant.js";

/**
 * GET /status: the index generation and its embedder, a re-index in progress, document counts
 * (indexed, pending, failed, stale) overall and per source with last scan/event times and the
 * freshness lag, queue depth and workers. See services/common/status-report.ts.
 */
export const statusRoute = new Hono<AppEnv>().get("/", async (c) => {
  const { core, queue } = c.var.deps;
  requireCore(core);
  const { mismatch } = await core.runtime.refresh();
  // A scoped key sees its own sources and documents; the generation, embedder and queue are service-wide.
  return c.json(await statusReport(core.database.db, { mismatch, queue, collections: scopeOf(c) }));
});
