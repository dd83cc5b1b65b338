import { Hono } from "hono";
import type { GenerationRow } from "../../../pipelines/store/catalog.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";

const describe = (g: GenerationRow) => ({
  id: g.id,
  status: g.status,
  embedder: g.embedder,
  embedderKey: g.embedderKey,
  chunker: g.chunker,
  createdAt: g.createdAt,
  activatedAt: g.activatedAt,
  progress: { total: g.docsTotal, done: g.docsDone, failed: g.docsFailed },
  error: g.error,
});

/** GET /status: the index generation and its embedder, a re-index in progress, document counts. */
export const statusRoute = new Hono<AppEnv>().get("/", async (c) => {
  const { core } = c.var.deps;
  if (!core) throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  await core.refresh();
  const [generations, counts] = await Promise.all([core.catalog.listGenerations(), core.catalog.countDocuments()]);
  const active = generations.find((g) => g.status === "active");
  const building = generations.find((g) => g.status === "building");
  const lastFailed = generations.find((g) => g.status === "failed");
  return c.json({
    generation: active ? describe(active) : null,
    reindex: building ? describe(building) : null,
    lastFailedReindex: lastFailed && (!active || lastFailed.id > active.id) ? describe(lastFailed) : null,
    modelMismatch: core.mismatch,
    documents: { indexed: counts.indexed ?? 0, pending: counts.pending ?? 0, failed: counts.failed ?? 0 },
  });
});
