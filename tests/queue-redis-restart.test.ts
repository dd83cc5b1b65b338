import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../pipelines/store/database.js";
import { waitFor } from "./support/pipeline.js";
import { type ServiceProcess, startService } from "./support/process.js";
import { startSharedPglite } from "./support/shared-pglite.js";

/**
 * A Redis of the test's own (never the shared 6379, which this test stops): redis-server on a
 * port in 6400-6499, without persistence, so a restart comes back empty as it would in production
 * with `save ""`. Resolves once it accepts connections.
 */
async function startRedis(port?: number): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const p = port ?? 6400 + Math.floor(Math.random() * 100);
    const child = spawn("redis-server", ["--port", String(p), "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    const ready = await new Promise<boolean>((resolve) => {
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("Ready to accept connections")) {
          resolve(true);
        }
      });
      child.once("exit", () => resolve(false));
    });
    if (ready) {
      return { port: p, child };
    }
  }
  throw new Error("redis-server could not start on a port in 6400-6499");
}

const stopHard = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });

describe("a Redis restarted empty while files wait in its queue", () => {
  const procs: ServiceProcess[] = [];
  const redisProcs: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "rag-redis-restart-"));
  let db: Awaited<ReturnType<typeof startSharedPglite>> | undefined;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(redisProcs.map(stopHard));
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loses no document: the watcher reconciles when Redis is back, and the worker indexes them all", async () => {
    db = await startSharedPglite({ maxConnections: 20 });
    const setup = await openDatabase({ databaseUrl: db.url, poolMax: 1 });
    await setup.migrate();
    await setup.close();
    const redis = await startRedis();
    redisProcs.push(redis.child);
    const files = ["a.md", "b.md", "c.md"];
    for (const f of files) {
      writeFileSync(join(dir, f), `# ${f}\n\nThe ${f} note says the harbour lantern is copper ${f.length}.\n`);
    }
    const env = {
      DATABASE_URL: db.url,
      DATABASE_POOL_MAX: "2",
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      QUEUE_PREFIX: "restart",
      WATCH_DIRS: dir,
      // No periodic reconciliation: only the reconnect can bring the lost jobs back.
      RESCAN_INTERVAL: "0",
    };
    // No worker yet: the start-up scan's jobs wait in Redis.
    const watcher = startService("services/watcher/main.ts", env);
    procs.push(watcher);
    await watcher.untilOutput('"msg":"ready"', 120_000);
    expect(watcher.output()).toMatch(/"enqueued":3,"removed":0,"msg":"reconciliation scan enqueued"/);

    await stopHard(redis.child);
    redisProcs.push((await startRedis(redis.port)).child);
    await watcher.untilOutput("queue reconnected; reconciling", 60_000);

    const worker = startService("services/worker/main.ts", env);
    procs.push(worker);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const indexed = await waitFor(
        async () => {
          const r = await client.query<{ path: string }>("select path from documents where status = 'indexed'");
          return r.rows.length === files.length ? r.rows.map((row) => row.path).sort() : null;
        },
        240_000,
        250,
      );
      expect(indexed).toEqual(files);
    } finally {
      await client.end();
    }
  }, 600_000);
});
