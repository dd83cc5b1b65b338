import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import pg from "pg";
import type { SQL } from "drizzle-orm";
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { schema } from "../../schemas/db.js";
import { DatabaseSetupError, runMigrations, type MigrationResult } from "./migrate.js";
import type { ScriptSession } from "./types.js";

export type Drizzle = PgDatabase<PgQueryResultHKT, typeof schema>;

export type { ScriptSession } from "./types.js";

/**
 * The relational database: embedded PGlite under `DATA_DIR`, or PostgreSQL named by `DATABASE_URL`.
 * Both carry pgvector; the rest of the code sees only drizzle.
 */
export interface Database {
  readonly kind: "pglite" | "postgres";
  readonly db: Drizzle;
  /** Holds one session for `fn`, e.g. to keep an advisory lock across statements. */
  withSession<T>(fn: (session: ScriptSession) => Promise<T>): Promise<T>;
  migrate(): Promise<MigrationResult>;
  /** PGlite only: the whole data directory as an uncompressed tarball, to start another database from. */
  dumpDataDir?(): Promise<Blob>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; when unset, PGlite is used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; `undefined` keeps the database in memory (tests). */
  dataDir?: string | undefined;
  poolMax?: number;
  /**
   * PGlite in memory only: a data directory from `dumpDataDir()` to start from instead of running
   * initdb, which is most of a new PGlite's start-up (tests start each database from one migrated copy).
   */
  startFrom?: Blob | undefined;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  return opts.databaseUrl
    ? openPostgres(opts.databaseUrl, opts.poolMax ?? 10)
    : openPglite(opts.dataDir, opts.startFrom);
}

async function openPglite(dataDir: string | undefined, startFrom: Blob | undefined): Promise<Database> {
  let unlock = () => {};
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    unlock = lockDataDir(dataDir);
  }
  const loadDataDir = dataDir ? undefined : startFrom;
  const client = await PGlite.create({
    dataDir,
    extensions: { vector },
    ...(loadDataDir ? { loadDataDir } : {}),
  }).catch((err: unknown) => {
    unlock();
    throw err;
  });
  const db = drizzlePglite(client, { schema }) as unknown as Drizzle;
  const session: ScriptSession = {
    exec: async (script) => void (await client.exec(script)),
    query: async <T>(text: string, params?: unknown[]) => (await client.query<T>(text, params)).rows,
  };
  const database: Database = {
    kind: "pglite",
    db,
    withSession: (fn) => fn(session),
    migrate: () => runMigrations(database),
    dumpDataDir: () => client.dumpDataDir("none"),
    close: async () => {
      await client.close();
      unlock();
    },
  };
  return database;
}

/**
 * PGlite is one process's database: two processes writing one data directory corrupt it, and
 * PGlite itself takes no lock. A pid file refuses the second opener; a stale one (its process
 * gone, e.g. after SIGKILL) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, "pglite.lock");
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, "utf8").trim());
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) {
      throw new DatabaseSetupError(
        `The PGlite database in ${dataDir} is in use by process ${pid} (a running \`npm start\`?). ` +
          "PGlite serves one process: stop that process, use its HTTP API (POST /admin/reindex), " +
          "or set DATABASE_URL to a PostgreSQL server that several processes can share.",
      );
    }
  }
  writeFileSync(file, String(process.pid));
  return () => {
    try {
      if (readFileSync(file, "utf8").trim() === String(process.pid)) {
        unlinkSync(file);
      }
    } catch {
      // Already gone: nothing to release.
    }
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which still means it is alive.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function openPostgres(url: string, poolMax: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolMax });
  // A client that loses its server must not crash the process; the query it was running (or the
  // next one) rejects instead. The pool reports idle clients' errors; a client checked out for a
  // transaction or a session emits its own, and an unheard "error" event kills the process.
  pool.on("error", () => {});
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  const db = drizzlePg(pool, { schema }) as unknown as Drizzle;
  const database: Database = {
    kind: "postgres",
    db,
    async withSession(fn) {
      const client = await pool.connect();
      try {
        return await fn({
          exec: async (script) => void (await client.query(script)),
          query: async <T>(text: string, params?: unknown[]) =>
            (await client.query(text, params as unknown[])).rows as T[],
        });
      } finally {
        client.release();
      }
    },
    migrate: () => runMigrations(database),
    close: () => pool.end(),
  };
  return database;
}

/** Runs raw SQL and returns its rows; both drivers answer `{ rows }`, drizzle's types do not say so. */
export async function queryRows<T>(db: Drizzle, query: SQL): Promise<T[]> {
  const res = (await db.execute(query)) as unknown as { rows: T[] };
  return res.rows;
}
