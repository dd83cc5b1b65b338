import type { ChunkerKind } from "../../pipelines/chunk/index.js";
import {
  createEmbedder,
  embedderKey,
  type Embedder,
  type EmbedderConfig,
  type EmbedderIdentity,
} from "../../pipelines/embed/index.js";
import type { IngestDeps } from "../../pipelines/ingest/index-file.js";
import { createPdfOcr, type OcrSettings, type PdfOcr } from "../../pipelines/parse/ocr.js";
import { createGeneratorTokenizer, type GeneratorTokenizer } from "../../pipelines/generate/tokens.js";
import { createCatalog, type Catalog } from "../../pipelines/store/catalog.js";
import { openDatabase, type Database } from "../../pipelines/store/database.js";
import { createEmbeddingCache, type EmbeddingCache } from "../../pipelines/store/embedding-cache.js";
import { createPageStore, type PageStore } from "../../pipelines/store/page-queries.js";
import { DatabaseSetupError } from "../../pipelines/store/migrate.js";
import { createPgvectorStore } from "../../pipelines/store/pgvector-store.js";
import { createQdrantStore } from "../../pipelines/store/qdrant-store.js";
import type { VectorStore } from "../../pipelines/store/types.js";
import { ConfigError } from "./config.js";
import {
  chunkerFor,
  createIndexRuntime,
  generationChunker,
  specOf,
  type IndexRuntime,
  type ModelMismatch,
  type ServedIndex,
} from "./index-runtime.js";
import type { Logger } from "./log.js";

export interface CoreConfig {
  DATA_DIR: string;
  DATABASE_URL?: string | undefined;
  DATABASE_POOL_MAX: number;
  EMBEDDING_MODEL: string;
  EMBEDDING_BASE_URL?: string | undefined;
  EMBEDDING_API_KEY?: string | undefined;
  EMBEDDING_DIMENSIONS?: number | undefined;
  EMBEDDING_BATCH_SIZE?: number | undefined;
  EMBEDDING_TIMEOUT_MS?: number | undefined;
  EMBEDDING_MAX_TOKENS?: number | undefined;
  EMBEDDING_VERSION?: string | undefined;
  EMBEDDING_THREADS?: number | undefined;
  QDRANT_URL?: string | undefined;
  QDRANT_API_KEY?: string | undefined;
  /** In-memory exact dense search up to this many chunks a generation (pgvector-store.ts); unset: its default. */
  DENSE_MEMORY_MAX_CHUNKS?: number | undefined;
  MAX_FILE_BYTES: number;
  /** The chunker new generations are built with (the first one, a re-index); unset: structure. */
  CHUNKER?: ChunkerKind | undefined;
  /** Mask personal data in ingested text before chunking (worker and re-index alike). */
  PII_MASK_INGEST?: boolean | undefined;
  /** OCR of PDF pages without a text layer (pipelines/parse/ocr.ts); unset fields take its defaults. */
  OCR_ENGINE?: OcrSettings["engine"] | undefined;
  OCR_RENDERER?: OcrSettings["renderer"] | undefined;
  OCR_DPI?: number | undefined;
  OCR_MAX_PIXELS?: number | undefined;
  OCR_PAGE_TIMEOUT_MS?: number | undefined;
  OCR_CONCURRENCY?: number | undefined;
}

export type { IndexRuntime, ModelMismatch, ServedIndex } from "./index-runtime.js";

/**
 * What indexFile needs: the core's fixed parts and one served index. Take `served` from
 * `core.runtime.refresh()` once per job, so a re-index switch is followed and the job writes one
 * generation with its own embedder and chunker.
 */
export function ingestDepsOf(core: CoreDeps, served: ServedIndex, maxFileBytes: number): IngestDeps {
  return {
    catalog: core.catalog,
    store: core.store,
    embeddingCache: core.embeddingCache,
    embedder: served.embedder,
    chunker: served.chunker,
    tokenizer: core.tokenizer,
    generationId: served.generation.id,
    maxFileBytes,
    maskPii: core.maskPiiOnIngest,
    ocr: core.ocr,
    pages: core.pages,
  };
}

export const embedderConfig = (c: CoreConfig): EmbedderConfig => ({
  model: c.EMBEDDING_MODEL,
  baseUrl: c.EMBEDDING_BASE_URL,
  apiKey: c.EMBEDDING_API_KEY,
  dimensions: c.EMBEDDING_DIMENSIONS,
  batchSize: c.EMBEDDING_BATCH_SIZE,
  timeoutMs: c.EMBEDDING_TIMEOUT_MS,
  maxInputTokens: c.EMBEDDING_MAX_TOKENS,
  version: c.EMBEDDING_VERSION,
  threads: c.EMBEDDING_THREADS,
});

/**
 * What every process builds once at start-up and passes down. Every field is fixed for the life
 * of the process; what a re-index switches (generation, embedder, chunker) is the `runtime`'s.
 */
export interface CoreDeps {
  database: Database;
  catalog: Catalog;
  store: VectorStore;
  embeddingCache: EmbeddingCache;
  tokenizer: GeneratorTokenizer;
  /** PII_MASK_INGEST: every ingestion path (worker, re-index) masks personal data before chunking. */
  maskPiiOnIngest: boolean;
  /** OCR for scanned PDF pages; starts its engine on the first such page. */
  ocr: PdfOcr;
  pages: PageStore;
  /**
   * The served index: `await core.runtime.refresh()` once per query or job follows a re-index
   * switch and returns the snapshot to use throughout it.
   */
  readonly runtime: IndexRuntime;
  close(): Promise<void>;
}

/**
 * Opens the database (migrating it), loads the embedder once, and settles the index generation.
 * A database that cannot be reached or lacks pgvector is a start-up error with a fix in it.
 */
export async function createCoreDeps(
  config: CoreConfig,
  log: Logger,
  /** Tests share one loaded model between databases, and keep PGlite in memory. */
  overrides: { embedder?: Embedder; inMemory?: boolean; pgliteTemplate?: Blob } = {},
): Promise<CoreDeps> {
  if (config.EMBEDDING_MODEL.startsWith("openai:") && !config.EMBEDDING_BASE_URL && !config.EMBEDDING_API_KEY) {
    throw new ConfigError(
      "EMBEDDING_API_KEY: required for EMBEDDING_MODEL=openai:<model> against api.openai.com; " +
        "or set EMBEDDING_BASE_URL to your OpenAI-compatible server (vLLM, Ollama, TEI, LiteLLM).",
    );
  }
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATABASE_URL || overrides.inMemory ? undefined : `${config.DATA_DIR}/pglite`,
    poolMax: config.DATABASE_POOL_MAX,
    startFrom: overrides.inMemory ? overrides.pgliteTemplate : undefined,
  }).catch((err: unknown) => {
    throw new ConfigError(`Cannot open the database: ${(err as Error).message}`, { cause: err });
  });
  try {
    const [migrations, embedder] = await Promise.all([
      database.migrate().catch((err: unknown) => {
        if (err instanceof DatabaseSetupError) {
          throw err;
        }
        const where = config.DATABASE_URL
          ? "the PostgreSQL server named by DATABASE_URL"
          : `PGlite in ${config.DATA_DIR}`;
        throw new DatabaseSetupError(`Cannot reach ${where}: ${(err as Error).message}`, { cause: err });
      }),
      (overrides.embedder ? Promise.resolve(overrides.embedder) : createEmbedder(embedderConfig(config))).catch(
        (err: unknown) => {
          throw new ConfigError(`EMBEDDING_MODEL: cannot load ${config.EMBEDDING_MODEL}: ${(err as Error).message}`, {
            cause: err,
          });
        },
      ),
    ]);
    log.info("database ready", { kind: database.kind, applied: migrations.applied });
    const configured = await chunkerFor(embedder, config.CHUNKER);
    const catalog = createCatalog(database.db);
    // Qdrant holds vectors and their lexical sparse vectors; PostgreSQL keeps the catalog either way.
    const store = config.QDRANT_URL
      ? createQdrantStore({ url: config.QDRANT_URL, apiKey: config.QDRANT_API_KEY, db: database.db })
      : createPgvectorStore(database.db, {
          denseMemoryMaxChunks: config.DENSE_MEMORY_MAX_CHUNKS,
          onBackgroundError: (err) => log.warn("loading the in-memory dense index failed; pgvector answers", { err }),
        });
    const generation = await catalog.ensureActiveGeneration(
      embedder.identity,
      configured.settings,
      specOf(embedderConfig(config)),
    );
    const chunker = await generationChunker(embedder, generation, config.CHUNKER ?? "structure", log);
    if (chunker.settings.strategy !== configured.settings.strategy) {
      log.warn(
        "CHUNKER differs from the active index's chunker: ingestion keeps the index's until a re-index builds one with CHUNKER",
        {
          indexed: chunker.settings.strategy,
          configured: configured.settings.strategy,
          generation: generation.id,
        },
      );
    }
    const mismatch: ModelMismatch | null =
      generation.embedderKey === embedderKey(embedder.identity)
        ? null
        : { indexed: generation.embedder as EmbedderIdentity, current: embedder.identity };
    if (mismatch) {
      log.error("embedding model mismatch: queries and ingestion are refused until the index is rebuilt", {
        indexed: embedderKey(mismatch.indexed),
        current: embedderKey(mismatch.current),
      });
    } else {
      await store.prepareGeneration(generation.id, embedder.identity.dimensions);
    }
    log.info("embedder loaded", { embedder: embedderKey(embedder.identity), generation: generation.id });
    const runtime = createIndexRuntime({
      catalog,
      initial: { generation, embedder, chunker, mismatch },
      apiKey: config.EMBEDDING_API_KEY,
      chunker: config.CHUNKER,
      log,
    });
    const ocr = createPdfOcr(ocrSettingsOf(config));
    return {
      database,
      catalog,
      store,
      embeddingCache: createEmbeddingCache(database.db),
      tokenizer: createGeneratorTokenizer(),
      maskPiiOnIngest: config.PII_MASK_INGEST ?? false,
      ocr,
      pages: createPageStore(database.db),
      runtime,
      async close() {
        await runtime.closeLoaded();
        await ocr.close();
        if (!overrides.embedder) {
          await embedder.close();
        }
        await database.close();
      },
    };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}

/**
 * The database and catalog without the embedder: for the watcher, which registers sources and
 * reconciles folders with the index but never embeds, so it need not load a model.
 */
export async function openCatalog(
  config: Pick<CoreConfig, "DATA_DIR" | "DATABASE_URL" | "DATABASE_POOL_MAX">,
  log: Logger,
): Promise<{ database: Database; catalog: Catalog; close(): Promise<void> }> {
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATABASE_URL ? undefined : `${config.DATA_DIR}/pglite`,
    poolMax: config.DATABASE_POOL_MAX,
  }).catch((err: unknown) => {
    throw new ConfigError(`Cannot open the database: ${(err as Error).message}`, { cause: err });
  });
  try {
    const migrations = await database.migrate().catch((err: unknown) => {
      if (err instanceof DatabaseSetupError) {
        throw err;
      }
      const where = config.DATABASE_URL
        ? "the PostgreSQL server named by DATABASE_URL"
        : `PGlite in ${config.DATA_DIR}`;
      throw new DatabaseSetupError(`Cannot reach ${where}: ${(err as Error).message}`, { cause: err });
    });
    log.info("database ready", { kind: database.kind, applied: migrations.applied });
    return { database, catalog: createCatalog(database.db), close: () => database.close() };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}

/** The OCR_* variables that are set, over pipelines/parse/ocr.ts's defaults. */
export function ocrSettingsOf(c: CoreConfig): Partial<OcrSettings> {
  const set = {
    engine: c.OCR_ENGINE,
    renderer: c.OCR_RENDERER,
    dpi: c.OCR_DPI,
    maxPixels: c.OCR_MAX_PIXELS,
    pageTimeoutMs: c.OCR_PAGE_TIMEOUT_MS,
    concurrency: c.OCR_CONCURRENCY,
  };
  return Object.fromEntries(Object.entries(set).filter(([, v]) => v !== undefined));
}
