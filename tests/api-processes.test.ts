import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../pipelines/store/database.js";
import { randomPrefix, rawQueue, REDIS_URL } from "./support/bullmq.js";
import { waitFor } from "./support/pipeline.js";
import { freePort, type ServiceProcess, startService } from "./support/process.js";
import { startSharedPglite } from "./support/shared-pglite.js";

const API = "services/api/main.ts";
const KEY = "cluster-key-0123456789abcdef";

/** GET on a fresh connection each time: node:cluster hands out connections, not requests. */
function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, headers: { "x-api-key": KEY } }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    req.once("error", reject);
    req.end();
  });
}

describe("API_PROCESSES: several API processes behind one port", () => {
  let db: Awaited<ReturnType<typeof startSharedPglite>>;
  const procs: ServiceProcess[] = [];
  const prefix = randomPrefix();

  beforeAll(async () => {
    db = await startSharedPglite({ maxConnections: 20 });
    // Migrated before the processes start: in one PGlite session their migration locks cannot exclude each other.
    const setup = await openDatabase({ databaseUrl: db.url, poolMax: 1 });
    await setup.migrate();
    await setup.close();
  }, 300_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await db.stop();
    await rawQueue(prefix).obliterate();
  });

  it("enforce one key's rate limit once, through Redis, whichever process answers", async () => {
    const port = await freePort();
    const api = startService(API, {
      API_PROCESSES: "2",
      DATABASE_URL: db.url,
      DATABASE_POOL_MAX: "2",
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      RATE_LIMIT_PER_MINUTE: "5",
      API_KEYS: `${KEY}:ask:*`,
      PORT: String(port),
      HOST: "127.0.0.1",
    });
    procs.push(api);
    // Each forked process says ready once its database and model are loaded.
    await waitFor(async () => (api.output().match(/"msg":"ready"/g)?.length ?? 0) >= 2, 240_000, 200);

    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push(await get(port, "/whoami"));
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    // Both processes answered: the request lines carry the pid of the process that logged them.
    const pids = new Set(
      api
        .output()
        .split("\n")
        .filter((l) => l.includes('"msg":"request"') && l.includes("/whoami"))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
    expect(pids.size).toBe(2);
    expect(pids.has(api.child.pid!)).toBe(false);
  }, 300_000);

  it("refuse to start without DATABASE_URL, or without REDIS_URL while rate limits are on", async () => {
    const noDb = startService(API, { API_PROCESSES: "2", DATABASE_URL: "", REDIS_URL });
    procs.push(noDb);
    expect(await noDb.exited).toBe(1);
    expect(noDb.output()).toMatch(/API_PROCESSES: 2 API processes need DATABASE_URL/);
    const noRedis = startService(API, { API_PROCESSES: "2", DATABASE_URL: db.url, REDIS_URL: "" });
    procs.push(noRedis);
    expect(await noRedis.exited).toBe(1);
    expect(noRedis.output()).toMatch(/API_PROCESSES: 2 API processes need REDIS_URL to share rate limits/);
  }, 120_000);
});
