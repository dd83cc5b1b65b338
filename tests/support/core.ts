import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { createEmbedder, type Embedder } from "../../pipelines/embed/index.js";
import { createCoreDeps, type CoreDeps } from "../../services/common/deps.js";
import { createLogger } from "../../services/common/log.js";
import { migratedTemplate } from "./pglite-template.js";

export const quietLog = createLogger("silent");

let embedder: Promise<Embedder> | undefined;
/** The real USE-Lite model, loaded once per test file (as a process loads it once). */
export function sharedEmbedder(): Promise<Embedder> {
  embedder ??= createEmbedder("use-lite");
  return embedder;
}

export type DbMode = "pglite" | "pg-socket";

/**
 * A fresh database with the service's core on top: in-process PGlite with pgvector, or the `pg`
 * driver (the production path for DATABASE_URL) talking to PGlite over a real TCP socket.
 */
export async function makeCore(mode: DbMode): Promise<{ core: CoreDeps; cleanup: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), "rag-core-"));
  const [emb, pgliteTemplate] = await Promise.all([sharedEmbedder(), migratedTemplate()]);
  if (mode === "pglite") {
    const core = await createCoreDeps(
      { DATA_DIR: dataDir, DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES: 1_000_000 },
      quietLog,
      { embedder: emb, inMemory: true, pgliteTemplate },
    );
    const cleanup = async () => {
      await core.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
    return { core, cleanup };
  }
  const server = await startSocketServer({ withVector: true, migrated: true });
  const core = await createCoreDeps(
    {
      DATA_DIR: dataDir,
      DATABASE_URL: server.url,
      DATABASE_POOL_MAX: 1,
      EMBEDDING_MODEL: "use-lite",
      MAX_FILE_BYTES: 1_000_000,
    },
    quietLog,
    { embedder: emb },
  );
  return {
    core,
    cleanup: async () => {
      await core.close();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * PGlite served over the PostgreSQL wire protocol on a random loopback port; `migrated` starts it
 * from the migrated template (tests of the migrations themselves start empty).
 */
export async function startSocketServer(opts: { withVector: boolean; migrated?: boolean; port?: number }) {
  const loadDataDir = opts.migrated ? await migratedTemplate() : undefined;
  const db = await PGlite.create(
    opts.withVector ? { extensions: { vector }, ...(loadDataDir ? { loadDataDir } : {}) } : {},
  );
  const server = new PGLiteSocketServer({ db, port: opts.port ?? 0, host: "127.0.0.1", maxConnections: 1 });
  await server.start();
  return {
    url: `postgres://postgres:postgres@${server.getServerConn()}/postgres`,
    port: Number(server.getServerConn().split(":").pop()),
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
