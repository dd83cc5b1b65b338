import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { SessionSource } from "./types.js";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

// Any fixed number works; it only has to be the same for every process running migrations.
const MIGRATION_LOCK_KEY = 7_245_310_001;

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

/** Thrown when the server cannot host the schema; the message says what to do. */
export class DatabaseSetupError extends Error {
  override name = "DatabaseSetupError";
}

// Kept over drizzle's migrator: it applies only files newer than the last applied one (0010_a/0010_b merged out of
// order would be skipped), takes no advisory lock, and never checks an applied file's checksum.
/**
 * Applies migrations/*.sql in name order, each in its own transaction, once. An advisory lock
 * serialises processes that start together (api and workers against one PostgreSQL); a checksum
 * mismatch on an applied file stops start-up rather than leaving the schema in an unknown state.
 */
export async function runMigrations(database: SessionSource, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  return database.withSession(async (s) => {
    const available = await s.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'vector'",
    );
    if ((available[0]?.n ?? 0) === 0) {
      throw new DatabaseSetupError(
        "The PostgreSQL server named by DATABASE_URL does not have the pgvector extension. " +
          "Install pgvector on that server (package postgresql-<version>-pgvector, or the pgvector/pgvector " +
          "Docker image), or unset DATABASE_URL to use the embedded PGlite database.",
      );
    }
    await s.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      await s.exec(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const rows = await s.query<{ name: string; checksum: string }>("SELECT name, checksum FROM schema_migrations");
      const done = new Map(rows.map((r) => [r.name, r.checksum]));
      const result: MigrationResult = { applied: [], alreadyApplied: [] };
      for (const file of files) {
        const script = readFileSync(`${dir}/${file}`, "utf8");
        const checksum = createHash("sha256").update(script).digest("hex");
        const previous = done.get(file);
        if (previous !== undefined) {
          if (previous !== checksum) {
            throw new DatabaseSetupError(
              `Migration ${file} was changed after it was applied (checksum differs). ` +
                "Add a new migration instead of editing an applied one.",
            );
          }
          result.alreadyApplied.push(file);
          continue;
        }
        await s.exec("BEGIN");
        try {
          await s.exec(script);
          await s.query("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", [file, checksum]);
          await s.exec("COMMIT");
        } catch (err) {
          await s.exec("ROLLBACK");
          throw new DatabaseSetupError(`Migration ${file} failed: ${(err as Error).message}`, { cause: err });
        }
        result.applied.push(file);
      }
      return result;
    } finally {
      await s.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    }
  });
}
