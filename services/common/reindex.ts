import type { ChunkerKind } from "../../pipelines/chunk/index.js";
import { createEmbedder, embedderKey, type Embedder, type EmbedderConfig } from "../../pipelines/embed/index.js";
import { isPipelineError } from "../../pipelines/errors.js";
import { buildGeneration, type BuildResult } from "../../pipelines/reindex/build-generation.js";
import { isStoreUnavailable } from "../../pipelines/store/unavailable.js";
import type { CoreDeps } from "./deps.js";
import { chunkerFor, specOf } from "./index-runtime.js";
import { ReindexError } from "./errors.js";
import type { Logger } from "./log.js";

export interface ReindexOptions {
  /** The embedder to build with: the configured one unless a model is named. */
  embedder: EmbedderConfig;
  /** The chunker to build with (CHUNKER); unset: structure. Re-indexing is how CHUNKER takes effect. */
  chunker?: ChunkerKind | undefined;
  maxFileBytes: number;
  /** How long the retired generation's chunks stay for queries already running. */
  retireGraceMs: number;
  log: Logger;
  /** Called after each document of the build (the CLI draws its progress line with it). */
  onProgress?: (p: { generationId: number; total: number; done: number; failed: number }) => void;
}

// Defined with the other service errors; exported here too, where its callers look for it.
export { ReindexError };

/**
 * Starts a re-index: loads the target embedder (reusing the loaded one when it is the same),
 * claims the build slot, and builds in the background while the active generation keeps
 * answering. Resolves once the build has started, with its generation id and its completion.
 */
export async function startReindex(core: CoreDeps, opts: ReindexOptions) {
  // The embedder serving now; the build reuses it when it is the one asked for.
  const loaded = core.runtime.current().embedder;
  let embedder: Embedder = loaded;
  let loadedHere = false;
  // USE-Lite has no settings: the loaded copy is the one asked for. Other providers are loaded and
  // their identity compared, since a base URL or dimension setting may differ.
  const loadedIsTarget = opts.embedder.model === "use-lite" && loaded.identity.provider === "use-lite";
  if (!loadedIsTarget) {
    try {
      embedder = await createEmbedder(opts.embedder);
      loadedHere = true;
    } catch (err) {
      throw new ReindexError("embedder_unavailable", `Cannot load ${opts.embedder.model}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // Same identity as the loaded one: use that, there is no need for two copies of one model.
    if (embedderKey(embedder.identity) === embedderKey(loaded.identity)) {
      await embedder.close();
      embedder = loaded;
      loadedHere = false;
    }
  }
  let chunker: Awaited<ReturnType<typeof chunkerFor>>;
  try {
    chunker = await chunkerFor(embedder, opts.chunker);
  } catch (err) {
    if (loadedHere) {
      await embedder.close();
    }
    throw err;
  }
  let gen: Awaited<ReturnType<typeof core.catalog.startBuild>>;
  try {
    gen = await core.catalog.startBuild(embedder.identity, chunker.settings, specOf(opts.embedder));
  } catch (err) {
    if (loadedHere) {
      await embedder.close();
    }
    // Only the build slot being taken is a conflict; a database that is down is an outage to retry.
    if (isPipelineError(err) && err.code === "build_running") {
      throw new ReindexError("build_running", err.message, { cause: err });
    }
    if (isStoreUnavailable(err)) {
      throw new ReindexError(
        "store_unavailable",
        `Cannot start a re-index: the database cannot be reached (${(err as Error).message}).`,
        { cause: err },
      );
    }
    throw err;
  }
  core.runtime.register(embedder);
  opts.log.info("re-index started", { generation: gen.id, embedder: embedderKey(embedder.identity) });
  const completion: Promise<BuildResult> = buildGeneration(
    {
      catalog: core.catalog,
      store: core.store,
      embeddingCache: core.embeddingCache,
      tokenizer: core.tokenizer,
      maxFileBytes: opts.maxFileBytes,
      maskPii: core.maskPiiOnIngest,
      // Scanned pages are read again for the new generation; their text is not kept apart.
      ocr: core.ocr,
      pages: core.pages,
    },
    { embedder, chunker },
    gen,
    opts.onProgress,
  ).then(async (result) => {
    await core.runtime.refresh();
    opts.log.info("re-index switched", { ...result });
    if (result.retiredId !== null) {
      const retired = result.retiredId;
      setTimeout(() => {
        core.store
          .dropGeneration(retired)
          .catch((err: unknown) => opts.log.error("dropping retired generation failed", { err }));
      }, opts.retireGraceMs).unref();
    }
    return result;
  });
  completion.catch((err: unknown) => opts.log.error("re-index failed", { generation: gen.id, err }));
  return { generationId: gen.id, completion };
}
