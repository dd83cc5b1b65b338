import { createChunkerOfKind, kindOfStrategy, type ChunkerKind } from "../../pipelines/chunk/index.js";
import type { Chunker } from "../../pipelines/chunk/types.js";
import {
  createEmbedder,
  embedderKey,
  type Embedder,
  type EmbedderConfig,
  type EmbedderIdentity,
} from "../../pipelines/embed/index.js";
import type { GenerationRow } from "../../pipelines/store/catalog.js";
import type { CoreDeps } from "./deps.js";
import type { Logger } from "./log.js";

/**
 * What a generation records so any process can load its embedder again: never a secret, nor a
 * setting of one process (its thread count), which each process that loads it chooses itself.
 */
export type EmbedderSpec = Omit<EmbedderConfig, "apiKey" | "threads">;

export function specOf(config: EmbedderConfig): EmbedderSpec {
  const { apiKey: _secret, threads: _threads, ...spec } = config;
  return spec;
}

/** The chunker a new generation is built with: `CHUNKER`'s kind, under what the embedder reads. */
export function chunkerFor(embedder: Embedder, kind: ChunkerKind = "structure"): Promise<Chunker> {
  return createChunkerOfKind(kind, embedder.maxInputTokens - 2, (t) => embedder.countTokens(t));
}

/**
 * The chunker to ingest into `gen` with: the strategy it recorded, whatever `CHUNKER` says, so one
 * generation never mixes two chunkings (changing CHUNKER takes a re-index). The limit follows the
 * embedder, as before. A strategy this version lacks falls back to `fallback`, with the reason.
 */
export async function generationChunker(
  embedder: Embedder,
  gen: Pick<GenerationRow, "id" | "chunker">,
  fallback: ChunkerKind,
  log: Logger,
): Promise<Chunker> {
  const recorded = (gen.chunker as { strategy?: unknown } | null)?.strategy;
  const kind = kindOfStrategy(recorded);
  if (!kind) {
    log.error("the generation's chunking strategy is unknown to this version; chunking with CHUNKER", {
      generation: gen.id,
      recorded,
      chunker: fallback,
    });
  }
  return chunkerFor(embedder, kind ?? fallback);
}

/**
 * Keeps a process on the active generation. A re-index switches the active generation in the
 * database at one instant; each query and job calls `refresh()` first, so every process follows
 * it. A process serves a generation only with an embedder whose identity equals the recorded one:
 * its configured model, or a model it loaded from the generation's spec because a re-index built
 * it while the process ran (the operator asked for that model). A process that starts with a model
 * other than the active generation's refuses instead (409), as that is a configuration mistake.
 */
export function createIndexRuntime(opts: {
  core: CoreDeps;
  apiKey?: string | undefined;
  chunker?: ChunkerKind | undefined;
  log: Logger;
}) {
  const { core, log } = opts;
  const registry = new Map<string, Embedder>([[embedderKey(core.embedder.identity), core.embedder]]);
  const loading = new Map<string, Promise<Embedder | null>>();
  let servedId = core.generation.id;

  async function load(gen: GenerationRow): Promise<Embedder | null> {
    const have = registry.get(gen.embedderKey);
    if (have) {
      return have;
    }
    if (!gen.embedderSpec) {
      return null;
    }
    let pending = loading.get(gen.embedderKey);
    if (!pending) {
      pending = createEmbedder({ ...(gen.embedderSpec as EmbedderSpec), apiKey: opts.apiKey })
        .then((e) => {
          if (embedderKey(e.identity) !== gen.embedderKey) {
            log.error("generation embedder no longer loads with the recorded identity", {
              generation: gen.id,
              recorded: gen.embedderKey,
              loaded: embedderKey(e.identity),
            });
            return null;
          }
          registry.set(gen.embedderKey, e);
          return e;
        })
        .catch((err: unknown) => {
          log.error("cannot load the embedder of generation", { generation: gen.id, err });
          return null;
        })
        .finally(() => loading.delete(gen.embedderKey));
      loading.set(gen.embedderKey, pending);
    }
    return pending;
  }

  return {
    /** Registers an embedder this process loaded for a build, so the switch needs no reload. */
    register(embedder: Embedder) {
      registry.set(embedderKey(embedder.identity), embedder);
    },

    async refresh(): Promise<void> {
      const { active, building } = await core.catalog.liveGenerations();
      // Warm the next generation's model while it builds, so the switch costs no query a load.
      if (building) {
        void load(building);
      }
      if (!active) {
        return;
      }
      if (active.id === servedId) {
        // Same generation, but its row can change under us: `npm run eval -- --fit` stores fusion weights on it.
        core.generation = active;
        return;
      }
      const embedder = await load(active);
      // Built before any field changes, so a concurrent refresh never sees the new id with the old chunker.
      const chunker = embedder && (await generationChunker(embedder, active, opts.chunker ?? "structure", log));
      servedId = active.id;
      core.generation = active;
      if (!embedder || !chunker) {
        core.mismatch = { indexed: active.embedder as EmbedderIdentity, current: core.embedder.identity };
        log.error("the active generation's embedder is not available in this process", { generation: active.id });
        return;
      }
      core.embedder = embedder;
      core.chunker = chunker;
      core.mismatch = null;
      log.info("switched to generation", { generation: active.id, embedder: active.embedderKey });
    },

    async closeLoaded(): Promise<void> {
      for (const e of registry.values()) {
        if (e !== core.embedder) {
          await e.close();
        }
      }
    },
  };
}

export type IndexRuntime = ReturnType<typeof createIndexRuntime>;
