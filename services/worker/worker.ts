import { embedderKey } from "../../pipelines/embed/types.js";
import { PipelineError } from "../../pipelines/errors.js";
import { indexFile, removeFile, type IngestOutcome } from "../../pipelines/ingest/index-file.js";
import type { CoreDeps } from "../common/deps.js";
import type { Logger } from "../common/log.js";
import type { JobHandlers, JobQueue } from "../common/queue/types.js";

/**
 * The ingestion consumer: turns catalog jobs into index updates. Jobs carry source ids and
 * relative paths; the source's root and collection come from the database, so any worker on any
 * host with the same mount can take any job.
 */
export function createWorker(deps: { core: CoreDeps; queue: JobQueue; log: Logger; maxFileBytes: number }) {
  const { core, queue, log } = deps;

  async function sourceOf(sourceId: string) {
    const source = await core.catalog.getSource(sourceId);
    if (!source) throw new PipelineError("file_missing", `Source ${sourceId} is not registered.`);
    return source;
  }

  function refuseOnMismatch() {
    if (!core.mismatch) return;
    throw new PipelineError(
      "embedding_model_mismatch",
      `Ingestion refused: the index was built with ${embedderKey(core.mismatch.indexed)}, ` +
        `this worker embeds with ${embedderKey(core.mismatch.current)}.`,
    );
  }

  const report = (path: string, outcome: IngestOutcome) => {
    const level = outcome.status === "failed" ? "warn" : "info";
    log[level]("ingest", { path, ...outcome });
    return outcome;
  };

  const handlers: JobHandlers = {
    "index-file": async (p) => {
      refuseOnMismatch();
      const source = await sourceOf(p.sourceId);
      const outcome = await indexFile(
        {
          catalog: core.catalog,
          store: core.store,
          embeddingCache: core.embeddingCache,
          embedder: core.embedder,
          chunker: core.chunker,
          tokenizer: core.tokenizer,
          generationId: core.generation.id,
          maxFileBytes: deps.maxFileBytes,
        },
        { sourceId: p.sourceId, root: source.root, collection: source.collection, path: p.path, contentHash: p.contentHash },
      );
      return report(p.path, outcome);
    },
    "remove-file": async (p) => report(p.path, await removeFile(core, p)),
  };

  return {
    start: () => queue.process(handlers),
    handlers,
  };
}
