import { cpSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { getTableConfig } from "drizzle-orm/pg-core";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { schema } from "../schemas/db.js";
import { openDatabase, type Database } from "../pipelines/store/database.js";
import { DatabaseSetupError, MIGRATIONS_DIR, runMigrations } from "../pipelines/store/migrate.js";
import { startSocketServer } from "./support/core.js";
import { tempDir } from "./support/temp-dir.js";

const opened: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (opened.length) {
    await opened.pop()!();
  }
});

async function open(mode: "pglite" | "pg-socket"): Promise<Database> {
  if (mode === "pglite") {
    const db = await openDatabase({});
    opened.push(() => db.close());
    return db;
  }
  const server = await startSocketServer({ withVector: true });
  const db = await openDatabase({ databaseUrl: server.url, poolMax: 1 });
  opened.push(async () => {
    await db.close();
    await server.stop();
  });
  return db;
}

describe.each(["pglite", "pg-socket"] as const)("migrations on %s", (mode) => {
  it("apply once, create pgvector first, and match the drizzle tables column for column", async () => {
    const db = await open(mode);
    const first = await db.migrate();
    expect(first.applied.slice(0, 2)).toEqual(["0001_init.sql", "0002_bm25.sql"]);
    expect((await db.migrate()).applied).toEqual([]);

    const rows = await db.withSession((s) =>
      s.query<{ table_name: string; column_name: string }>(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'",
      ),
    );
    const actual = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
    for (const table of Object.values(schema)) {
      const cfg = getTableConfig(table);
      for (const col of cfg.columns) {
        expect(actual, `${cfg.name}.${col.name}`).toContain(`${cfg.name}.${col.name}`);
      }
    }
    const ext = await db.withSession((s) => s.query<{ extname: string }>("SELECT extname FROM pg_extension"));
    expect(ext.map((e) => e.extname)).toContain("vector");
  });

  it("stores and searches vectors through the generation's HNSW index expression", async () => {
    const db = await open(mode);
    await db.migrate();
    const plan = await db.withSession(async (s) => {
      await s.exec(`INSERT INTO index_generations (embedder_key, embedder, chunker, status)
                    VALUES ('k', '{"dimensions":3}', '{}', 'active')`);
      await s.exec(
        `CREATE INDEX chunks_embedding_g1 ON chunks USING hnsw ((embedding::vector(3)) vector_cosine_ops) WHERE generation_id = 1`,
      );
      // On an empty table every plan costs nearly nothing; rule out the scan-then-sort plans so the
      // check is whether the HNSW index can serve this exact query shape.
      await s.exec("SET enable_seqscan = off; SET enable_sort = off");
      const r = await s.query<{ "QUERY PLAN": string }>(
        "EXPLAIN SELECT id FROM chunks WHERE generation_id = 1 ORDER BY (embedding::vector(3)) <=> '[1,0,0]'::vector(3) LIMIT 5",
      );
      await s.exec("RESET enable_seqscan; RESET enable_sort");
      return r.map((x) => x["QUERY PLAN"]).join("\n");
    });
    expect(plan).toContain("chunks_embedding_g1");
  });
});

describe("migration failures stop start-up with a message saying what to do", () => {
  it("a server without pgvector (PGlite without the extension, over the pg driver)", async () => {
    const server = await startSocketServer({ withVector: false });
    const db = await openDatabase({ databaseUrl: server.url, poolMax: 1 });
    opened.push(async () => {
      await db.close();
      await server.stop();
    });
    const err = await db.migrate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseSetupError);
    expect((err as Error).message).toMatch(
      /does not have the pgvector extension.*Install pgvector.*unset DATABASE_URL/s,
    );
  });

  // This machine's own PostgreSQL 15 has no pgvector: the real production failure.
  const plainPostgres = process.env.PLAIN_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  it("the machine's PostgreSQL without pgvector", async () => {
    const probe = new pg.Client({ connectionString: plainPostgres, connectionTimeoutMillis: 2000 });
    const reachable = await probe.connect().then(
      () => probe.end().then(() => true),
      () => false,
    );
    expect(reachable, `PostgreSQL at ${plainPostgres} should be running on this machine kind`).toBe(true);
    const db = await openDatabase({ databaseUrl: plainPostgres, poolMax: 1 });
    opened.push(() => db.close());
    await expect(db.migrate()).rejects.toThrow(/does not have the pgvector extension/);
  });

  it("an applied migration that was edited afterwards", async () => {
    const dir = tempDir("rag-mig-");
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    const db = await open("pglite");
    await runMigrations(db, dir);
    appendFileSync(join(dir, "0001_init.sql"), "\n-- edited\n");
    await expect(runMigrations(db, dir)).rejects.toThrow(/0001_init.sql was changed after it was applied/);
  });

  it("a failing migration rolls back and names the file", async () => {
    const dir = tempDir("rag-mig-");
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    appendFileSync(join(dir, "0002_broken.sql"), "CREATE TABLE ok_table (id int);\nSELECT * FROM no_such_table;\n");
    const db = await open("pglite");
    await expect(runMigrations(db, dir)).rejects.toThrow(/Migration 0002_broken.sql failed: .*no_such_table/);
    const left = await db.withSession((s) =>
      s.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'ok_table'"),
    );
    expect(left).toEqual([]);
  });
});
