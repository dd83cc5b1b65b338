import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { PipelineError } from "../pipelines/errors.js";
import { createApp } from "../services/api/app.js";
import type { AppEnv } from "../services/api/context.js";
import { ApiError, apiErrorOf, onError } from "../services/api/errors.js";
import { adminActions } from "../services/common/admin.js";
import { createCoreDeps } from "../services/common/deps.js";
import { QueueUnavailableError, ReindexError } from "../services/common/errors.js";
import { createBullmqQueue } from "../services/common/queue/bullmq.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { quietLog, sharedEmbedder, startSocketServer } from "./support/core.js";
import { apiConfig } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) {
    await cleanups.pop()!();
  }
});

const config = { DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES: 1_000_000, RETIRE_GRACE_MS: 200 };

/** The API on a real core whose database can be taken away: PGlite in-process, or `pg` over a socket. */
async function runningApp(mode: "pglite" | "pg-socket") {
  const dataDir = tempDir("rag-outage-");
  const server = mode === "pg-socket" ? await startSocketServer({ withVector: true }) : undefined;
  const core = await createCoreDeps(
    { ...config, DATA_DIR: dataDir, ...(server && { DATABASE_URL: server.url }) },
    quietLog,
    { embedder: await sharedEmbedder(), inMemory: mode === "pglite" },
  );
  let down = false;
  cleanups.push(async () => {
    await core.close().catch(() => {}); // after the outage, closing what is gone may fail
    if (!down) {
      await server?.stop();
    }
  });
  const app = createApp({
    config: apiConfig,
    log: quietLog,
    generator: createExtractiveGenerator(),
    core,
    admin: adminActions(core, { ...config, DATA_DIR: dataDir }, quietLog),
  });
  /** The outage: the PostgreSQL server goes away, or the embedded database is closed under the app. */
  const breakDatabase = async () => {
    if (server) {
      await server.stop();
    } else {
      await core.database.close();
    }
    down = true;
  };
  return { app, core, breakDatabase };
}

async function expectUnavailable(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
  expect({ status: res.status, code: body.error.code }).toEqual({ status: 503, code: "service_unavailable" });
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(body.error.message).toMatch(/database cannot be reached/);
  expect(body.error.requestId).toEqual(expect.any(String));
}

describe("a dependency that is down is a 503 with Retry-After", () => {
  it("the PostgreSQL connection is reset under /ask traffic: every request answers, the process lives, and it recovers", async () => {
    // Between the app and the server, a proxy that can cut every connection with a TCP reset, as a
    // killed server or a failed-over host does (a clean close is survived more easily).
    const server = await startSocketServer({ withVector: true, migrated: true });
    const sockets = new Set<Socket>();
    let cut = false;
    const proxy = createServer((client) => {
      if (cut) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(server.port, "127.0.0.1");
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      for (const s of [client, upstream]) {
        s.on("error", () => {});
        s.on("close", () => sockets.delete(s));
      }
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxyPort = (proxy.address() as AddressInfo).port;
    const dataDir = tempDir("rag-outage-");
    const core = await createCoreDeps(
      { ...config, DATA_DIR: dataDir, DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${proxyPort}/postgres` },
      quietLog,
      { embedder: await sharedEmbedder() },
    );
    cleanups.push(async () => {
      await core.close().catch(() => {});
      await new Promise((r) => proxy.close(r));
      await server.stop();
    });
    const app = createApp({ config: apiConfig, log: quietLog, generator: createExtractiveGenerator(), core });
    const ask = (question: string) =>
      app.request("/ask", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question }),
      });
    expect((await ask("What are the harbour's opening hours?")).status).toBe(200);
    // Requests hold the pool's one connection and queue behind it when the connection is reset.
    const inFlight = Array.from({ length: 8 }, (_, i) => ask(`Question number ${i} about the harbour?`));
    await new Promise((r) => setImmediate(r));
    cut = true;
    for (const s of sockets) {
      s.resetAndDestroy();
    }
    const statuses = await Promise.all(inFlight.map(async (r) => (await r).status));
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(statuses).toContain(503);
    // The network comes back; the pool reconnects without a restart of the app.
    cut = false;
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await app.request("/documents")).status;
      if (status !== 200) {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(status).toBe(200);
  });

  it.each(["pg-socket", "pglite"] as const)(
    "a database outage (%s) during POST /admin/reindex answers 503 service_unavailable, not 409",
    async (mode) => {
      const { app, breakDatabase } = await runningApp(mode);
      // The same app answers normally before the outage.
      expect((await app.request("/documents")).status).toBe(200);
      await breakDatabase();
      await expectUnavailable(await app.request("/admin/reindex", { method: "POST" }));
      // Any route that reads the database says the same, rather than a 500.
      await expectUnavailable(await app.request("/documents"));
    },
  );

  it("a dead Redis under a request that enqueues answers 503 service_unavailable with Retry-After", async () => {
    // No API route enqueues today (the watcher does); this is the app's one error handler on a route
    // that does, with the real BullMQ queue pointed at a port where no Redis answers.
    const queue = createBullmqQueue({ url: "redis://127.0.0.1:1" });
    cleanups.push(() => queue.close());
    const app = new Hono<AppEnv>().post("/ingest", async (c) => {
      await queue.enqueue("index-file", { sourceId: "src_a", path: "notes/a.md", contentHash: "0".repeat(64) });
      return c.json({ queued: true }, 202);
    });
    app.onError(onError(quietLog));
    const res = await app.request("/ingest", { method: "POST" });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("service_unavailable");
    expect(body.error.message).toMatch(/Redis at redis:\/\/127\.0\.0\.1:1\/? is unavailable/);
  });
});

describe("the one mapping from layer errors to API errors", () => {
  it("maps each code explicitly and keeps the original error as the cause", () => {
    const cases: Array<[Error, string, boolean]> = [
      [new ReindexError("build_running", "a re-index is already running"), "reindex_in_progress", false],
      [new ReindexError("embedder_unavailable", "Cannot load onnx:/nope"), "invalid_request", false],
      [new ReindexError("store_unavailable", "the database cannot be reached"), "service_unavailable", true],
      [new QueueUnavailableError("Redis is unavailable"), "service_unavailable", true],
      [
        new PipelineError("embedding_failed", "the embeddings API answered 502", { retryable: true }),
        "service_unavailable",
        true,
      ],
      [new PipelineError("store_unavailable", "cannot reach", { retryable: true }), "service_unavailable", true],
      [new PipelineError("build_running", "a re-index is already running"), "reindex_in_progress", false],
      [
        Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
        "service_unavailable",
        true,
      ],
      [
        new Error("Failed query: select 1", {
          cause: Object.assign(new Error("terminating connection"), { code: "57P01" }),
        }),
        "service_unavailable",
        true,
      ],
    ];
    for (const [err, code, retryAfter] of cases) {
      const mapped = apiErrorOf(err);
      expect({ err: err.message, code: mapped?.code, retryAfter: mapped?.retryAfterSeconds !== undefined }).toEqual({
        err: err.message,
        code,
        retryAfter,
      });
      expect(mapped?.cause).toBe(err);
    }
    const own = new ApiError("not_found", "No document");
    expect(apiErrorOf(own)).toBe(own);
  });

  it("leaves an unexpected error (a bug, a refused query, a non-retryable pipeline error) to the 500", () => {
    expect(apiErrorOf(new Error("secret detail at x.ts:1"))).toBeUndefined();
    expect(apiErrorOf(Object.assign(new Error('relation "x" does not exist'), { code: "42P01" }))).toBeUndefined();
    expect(apiErrorOf(new PipelineError("corrupt_file", "not a PDF"))).toBeUndefined();
  });
});
