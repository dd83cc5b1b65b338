import { embedderConfig, type CoreConfig, type CoreDeps } from "./deps.js";
import type { Logger } from "./log.js";
import { startReindex } from "./reindex.js";

/** Operator actions that need more than a request: the embedder settings, the file limit. */
export interface AdminActions {
  startReindex(embeddingModel?: string): Promise<{ generationId: number }>;
}

/** The operator actions the API exposes, bound to this process's configuration. */
export function adminActions(
  core: CoreDeps,
  config: CoreConfig & { RETIRE_GRACE_MS: number },
  log: Logger,
): AdminActions {
  return {
    async startReindex(embeddingModel) {
      const target = { ...embedderConfig(config), ...(embeddingModel && { model: embeddingModel }) };
      const { generationId } = await startReindex(core, {
        embedder: target,
        chunker: config.CHUNKER,
        maxFileBytes: config.MAX_FILE_BYTES,
        retireGraceMs: config.RETIRE_GRACE_MS,
        log,
      });
      return { generationId };
    },
  };
}
