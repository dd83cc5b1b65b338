import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { Embedder } from "../../pipelines/embed/types.js";
import type { IngestDeps } from "../../pipelines/ingest/index-file.js";
import { queryRows } from "../../pipelines/store/database.js";
import { createCoreDeps, ingestDepsOf, type CoreDeps } from "../../services/common/deps.js";
import { quietLog, sharedEmbedder } from "./core.js";

/** The real embedder, counting the texts it is asked to embed (the proof that a cache hit skipped it). */
export interface CountingEmbedder extends Embedder {
  texts: string[];
  /** Runs once per embed call, before the real model; lets a test act "mid-job". */
  onEmbed?: ((texts: string[]) => void | Promise<void>) | undefined;
}

export function countingEmbedder(inner: Embedder): CountingEmbedder {
  const counting: CountingEmbedder = {
    identity: inner.identity,
    maxInputTokens: inner.maxInputTokens,
    countTokens: (t) => inner.countTokens(t),
    texts: [],
    async embed(texts) {
      counting.texts.push(...texts);
      await counting.onEmbed?.(texts);
      return inner.embed(texts);
    },
    close: async () => {},
  };
  return counting;
}

/**
 * A core on PGlite with a counting embedder. With `dataDir` the database lives on disk there, so a
 * second core opened on the same folder is a restarted service; without, a fresh temporary one.
 */
export async function openCore(opts: { dataDir?: string; maxFileBytes?: number } = {}) {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "rag-ingest-db-"));
  const embedder = countingEmbedder(await sharedEmbedder());
  const core = await createCoreDeps(
    {
      DATA_DIR: dataDir,
      DATABASE_POOL_MAX: 1,
      EMBEDDING_MODEL: "use-lite",
      MAX_FILE_BYTES: opts.maxFileBytes ?? 1_000_000,
    },
    quietLog,
    // Only a database that must outlive this core goes to disk; the rest stay in memory (faster).
    { embedder, inMemory: !opts.dataDir },
  );
  return {
    core,
    embedder,
    dataDir,
    /** Closes the database; removes its folder only when this call created it. */
    async close() {
      await core.close();
      if (!opts.dataDir) {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export interface ChunkRow {
  path: string;
  ordinal: number;
  text: string;
  page: number | null;
}

/** Every chunk in the index with its document's path, in document and ordinal order. */
export async function allChunks(core: CoreDeps): Promise<ChunkRow[]> {
  return queryRows<ChunkRow>(
    core.database.db,
    sql`SELECT d.path, c.ordinal, c.text, c.page FROM chunks c JOIN documents d ON d.id = c.document_id
        ORDER BY d.path, c.ordinal`,
  );
}

export async function chunksOf(core: CoreDeps, path: string): Promise<ChunkRow[]> {
  return (await allChunks(core)).filter((c) => c.path === path);
}

/** What the worker passes to indexFile, for tests that call it directly. */
export function ingestDeps(core: CoreDeps, maxFileBytes = 1_000_000): IngestDeps {
  return ingestDepsOf(core, core.runtime.current(), maxFileBytes);
}
