import { createChunkerOfKind, kindOfStrategy, type ChunkerKind } from "../../pipelines/chunk/index.js";
import type { Chunker } from "../../pipelines/chunk/types.js";
import {
  createEmbedder,
  embedderKey,
  type Embedder,
  type EmbedderConfig,
  type EmbedderIdentity,
} from "../../pipelines/embed/index.js";
import type { Catalog, GenerationRow } from "../../pipelines/store/catalog.js";
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

/** Set when the index was built by a different embedder than the one this process loaded. */
export interface ModelMismatch {
  readonly indexed: EmbedderIdentity;
  readonly current: EmbedderIdentity;
}

/**
 * The index a process serves at one instant: the active generation, the embedder and chunker
 * that match it, and the mismatch when this process cannot embed as it was built. A value, never
 * changed: a re-index switch makes a new one, so a request or job that took one reads one
 * generation throughout, across every await.
 */
export interface ServedIndex {
  readonly generation: GenerationRow;
  readonly embedder: Embedder;
  readonly chunker: Chunker;
  readonly mismatch: ModelMismatch | null;
}

/** Owns the served index of a process and follows the active generation (createIndexRuntime). */
export interface IndexRuntime {
  /** The index served now, as the last refresh left it (no database read). */
  current(): ServedIndex;
  /**
   * Reads the active generation and returns the index to serve it with, replacing the current one
   * in one step. Call once per query or job and use what it returns throughout.
   */
  refresh(): Promise<ServedIndex>;
  /** Registers an embedder this process loaded for a build, so the switch needs no reload. */
  register(embedder: Embedder): void;
  /** Closes the embedders loaded for other generations (the configured one is its owner's to close). */
  closeLoaded(): Promise<void>;
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
  catalog: Pick<Catalog, "liveGenerations">;
  /** The index settled at start-up; its embedder is the configured one. */
  initial: ServedIndex;
  apiKey?: string | undefined;
  chunker?: ChunkerKind | undefined;
  log: Logger;
}): IndexRuntime {
  const { catalog, log } = opts;
  const configured = opts.initial.embedder;
  const registry = new Map<string, Embedder>([[embedderKey(configured.identity), configured]]);
  const loading = new Map<string, Promise<Embedder | null>>();
  let served: ServedIndex = Object.freeze({ ...opts.initial });
  // Refreshes overlap (one per request); one that read the database earlier must not replace
  // what a later one installed, or a finished switch could be undone until the next refresh.
  let started = 0;
  let installed = 0;

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

  /** The index to serve `active` with, from what is served now (`from`). */
  async function servedFor(active: GenerationRow, from: ServedIndex): Promise<ServedIndex> {
    if (active.id === from.generation.id) {
      // Same generation, but its row can change under us: `npm run eval -- --fit` stores fusion weights on it.
      return { ...from, generation: active };
    }
    const embedder = await load(active);
    const chunker = embedder && (await generationChunker(embedder, active, opts.chunker ?? "structure", log));
    if (!embedder || !chunker) {
      log.error("the active generation's embedder is not available in this process", { generation: active.id });
      const mismatch = { indexed: active.embedder as EmbedderIdentity, current: from.embedder.identity };
      return { generation: active, embedder: from.embedder, chunker: from.chunker, mismatch };
    }
    log.info("switched to generation", { generation: active.id, embedder: active.embedderKey });
    return { generation: active, embedder, chunker, mismatch: null };
  }

  return {
    current: () => served,

    register(embedder) {
      registry.set(embedderKey(embedder.identity), embedder);
    },

    async refresh() {
      const ticket = ++started;
      const { active, building } = await catalog.liveGenerations();
      // Warm the next generation's model while it builds, so the switch costs no query a load.
      if (building) {
        void load(building);
      }
      if (!active || ticket < installed) {
        return served;
      }
      const next = await servedFor(active, served);
      if (ticket < installed) {
        return served;
      }
      installed = ticket;
      served = Object.freeze(next);
      return served;
    },

    async closeLoaded() {
      for (const e of new Set(registry.values())) {
        if (e !== configured) {
          await e.close();
        }
      }
    },
  };
}
