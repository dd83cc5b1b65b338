import { embedderKey } from "../../pipelines/embed/types.js";
import { PipelineError } from "../../pipelines/errors.js";
import { indexFile, removeFile, resolveInside, sha256, type IngestOutcome } from "../../pipelines/ingest/index-file.js";
import { readSourceFile } from "../../pipelines/ingest/read-source.js";
import { ingestDepsOf, type CoreDeps, type ServedIndex } from "./deps.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import type { JobPayload } from "../../schemas/jobs.js";
import type { JobHandlers, JobQueue } from "./queue/types.js";

/**
 * The ingestion consumer: turns catalog jobs into index updates. Jobs carry source ids and
 * relative paths; the source's root and collection come from the database, so any worker on any
 * host with the same mount can take any job.
 */
export function createWorker(deps: {
  core: CoreDeps;
  queue: JobQueue;
  log: Logger;
  maxFileBytes: number;
  /** Counts jobs and their durations by outcome; the API's registry in the all-in-one process. */
  metrics?: Metrics;
}) {
  const { core, queue, log, metrics } = deps;

  /**
   * Times a job end to end by outcome (the IngestOutcome status, or "error" when it threw and the
   * queue will retry or fail it). Per-stage timings would need hooks inside indexFile.
   */
  function timed<P>(job: string, run: (p: P) => Promise<IngestOutcome>) {
    return async (p: P) => {
      const end = metrics?.ingestDuration.startTimer({ job });
      let outcome = "error";
      try {
        const result = await run(p);
        outcome = result.status;
        if (result.status === "indexed") {
          metrics?.ingestChunks.inc({ kind: "embedded" }, result.embedded);
          metrics?.ingestChunks.inc({ kind: "reused" }, result.reused);
        }
        return result;
      } finally {
        end?.({ outcome });
        metrics?.ingestJobs.inc({ job, outcome });
      }
    };
  }

  async function sourceOf(sourceId: string) {
    const source = await core.catalog.getSource(sourceId);
    if (!source) {
      throw new PipelineError("file_missing", `Source ${sourceId} is not registered.`);
    }
    return source;
  }

  /**
   * Follows a re-index switch and returns the index the job writes to; refuses to write vectors
   * from another model into the index. The document is recorded as failed with the reason, so it is visible and the re-index that
   * fixes the mismatch (which rebuilds every recorded document) picks it up.
   */
  async function refuseOnMismatch(p: { sourceId: string; path: string }, collection: string): Promise<ServedIndex> {
    const served = await core.runtime.refresh();
    const { mismatch } = served;
    if (!mismatch) {
      return served;
    }
    const err = new PipelineError(
      "embedding_model_mismatch",
      `Ingestion refused: the index was built with ${embedderKey(mismatch.indexed)}, ` +
        `this worker embeds with ${embedderKey(mismatch.current)}. Re-index (npm run reindex or ` +
        "POST /admin/reindex) or set EMBEDDING_MODEL back.",
    );
    const doc = await core.catalog.ensureDocument(p.sourceId, p.path, collection);
    await core.catalog.markFailed(doc.id, err.code, err.message);
    throw err;
  }

  const report = (path: string, outcome: IngestOutcome) => {
    const level = outcome.status === "failed" ? "warn" : "info";
    log[level]("ingest", { path, ...outcome });
    return outcome;
  };

  /**
   * Two workers can index one document at once (it changed while an older version was still
   * embedding), and the slower write may land last with the older content. After a write, compare
   * the file with what the index now holds; if they differ, enqueue the file's current version.
   */
  async function followLatest(root: string, p: { sourceId: string; path: string }) {
    const [read, doc] = await Promise.all([
      readSourceFile(resolveInside(root, p.path), p.path, deps.maxFileBytes, root).catch(() => null),
      core.catalog.getDocument(p.sourceId, p.path),
    ]);
    if (!read || !doc || doc.status !== "indexed") {
      return;
    }
    const onDisk = read.kind === "gone" ? null : sha256(read.bytes);
    if (onDisk === doc.contentHash) {
      return;
    }
    log.info("index lags the file; enqueueing its current version", { path: p.path });
    if (onDisk === null) {
      await queue.enqueue("remove-file", { sourceId: p.sourceId, path: p.path });
    } else {
      await queue.enqueue("index-file", { sourceId: p.sourceId, path: p.path, contentHash: onDisk });
    }
  }

  const handlers: JobHandlers = {
    "index-file": timed("index-file", async (p: JobPayload<"index-file">) => {
      const source = await sourceOf(p.sourceId);
      const served = await refuseOnMismatch(p, source.collection);
      const outcome = await indexFile(ingestDepsOf(core, served, deps.maxFileBytes), {
        sourceId: p.sourceId,
        root: source.root,
        collection: source.collection,
        path: p.path,
        contentHash: p.contentHash,
      });
      if (outcome.status === "indexed") {
        await followLatest(source.root, p);
      }
      return report(p.path, outcome);
    }),
    "remove-file": timed("remove-file", async (p: JobPayload<"remove-file">) =>
      report(p.path, await removeFile(core, p)),
    ),
  };

  return {
    start: () => queue.process(handlers),
    handlers,
  };
}
