import { createCatalog, type GenerationRow } from "../../pipelines/store/catalog.js";
import type { Drizzle } from "../../pipelines/store/database.js";
import { textLayerCounts } from "../../pipelines/store/page-queries.js";
import type { ModelMismatch } from "./index-runtime.js";
import { sourceStatuses, summarize } from "./index-status.js";
import type { JobQueue } from "./queue/types.js";

const describeGeneration = (g: GenerationRow) => ({
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

/** Queue figures never fail a status read: an unreachable Redis is reported, not thrown. */
async function queueStatus(queue: JobQueue | undefined) {
  if (!queue) {
    return { queue: null, workers: null };
  }
  const [depth, workers] = await Promise.allSettled([
    queue.depth(),
    queue.workers ? queue.workers() : Promise.resolve(null),
  ]);
  return {
    queue:
      depth.status === "fulfilled"
        ? { ...depth.value, error: null }
        : { waiting: null, active: null, failed: null, error: (depth.reason as Error).message },
    workers: workers.status === "fulfilled" ? workers.value : null,
  };
}

/**
 * What GET /status answers and `npm run status` prints: the index generation and its embedder, a
 * re-index in progress, document counts (indexed, pending, failed, stale) and unseen files overall and per source,
 * the freshness lag, queue depth and workers (null without a queue / with the in-process one).
 */
export async function statusReport(
  db: Drizzle,
  /** `collections`: a tenant's scope (null or unset: all); see sourceStatuses. */
  opts: { mismatch: ModelMismatch | null; queue?: JobQueue | undefined; collections?: readonly string[] | null },
) {
  const scoped = opts.collections !== undefined && opts.collections !== null;
  const [generations, sources, q, textLayers] = await Promise.all([
    createCatalog(db).listGenerations(),
    sourceStatuses(db, { collections: opts.collections ?? null }),
    queueStatus(opts.queue),
    textLayerCounts(db, opts.collections ?? null),
  ]);
  // A failed build's message can name any tenant's file; a scoped caller gets the status without it.
  const describe = (g: GenerationRow) => ({ ...describeGeneration(g), ...(scoped ? { error: null } : {}) });
  const active = generations.find((g) => g.status === "active");
  const building = generations.find((g) => g.status === "building");
  const lastFailed = generations.find((g) => g.status === "failed");
  const totals = summarize(sources);
  return {
    generation: active ? describe(active) : null,
    reindex: building ? describe(building) : null,
    lastFailedReindex: lastFailed && (!active || lastFailed.id > active.id) ? describe(lastFailed) : null,
    modelMismatch: opts.mismatch,
    documents: totals.documents,
    /** Files on disk under the roots that the catalog does not know yet (see index-status.ts). */
    unseen: totals.unseen,
    freshnessLagMs: totals.freshnessLagMs,
    // Indexed documents by text layer (native, ocr, mixed, none), OCR'd pages, pages left without text and why.
    textLayers,
    sources,
    queue: q.queue,
    workers: q.workers,
  };
}

export type StatusReport = Awaited<ReturnType<typeof statusReport>>;
