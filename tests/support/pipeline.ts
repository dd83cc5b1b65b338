import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../services/api/app.js";
import type { ApiDeps } from "../../services/api/context.js";
import type { CoreDeps } from "../../services/common/deps.js";
import type { Logger } from "../../services/common/log.js";
import { createMetrics } from "../../services/common/metrics.js";
import { createInProcessQueue } from "../../services/common/queue/in-process.js";
import type { watch } from "chokidar";
import type { RescanTimer } from "../../services/watcher/rescan-scheduler.js";
import { createSourceWatcher } from "../../services/watcher/watcher.js";
import { createWorker } from "../../services/common/ingest-worker.js";
import { createExtractiveGenerator } from "../../pipelines/generate/extractive.js";
import { makeCore, quietLog } from "./core.js";
import { createLexicalReranker } from "../../pipelines/rerank/lexical.js";

export const apiConfig = { MAX_BODY_BYTES: 64 * 1024, MAX_QUESTION_CHARS: 2000, DEFAULT_TOP_K: 8 };

/** The all-in-one wiring of services/all-in-one/main.ts, minus the socket: app, queue, worker, watcher. */
export async function startPipeline(
  core: CoreDeps,
  dirs: string[],
  opts: {
    stabilityMs?: number;
    rescanIntervalMs?: number;
    burstSettleMs?: number;
    log?: Logger;
    /** Jobs at once (WORKER_CONCURRENCY); 1 unless given, so most tests see jobs in order. */
    concurrency?: number;
    rescanTimer?: RescanTimer;
    watchFiles?: typeof watch;
  } = {},
) {
  const queue = createInProcessQueue({ backoffScale: 0.01, concurrency: opts.concurrency });
  // One registry for the worker and the API, as in the all-in-one process.
  const metrics = createMetrics({ queue: () => queue });
  createWorker({ core, queue, log: quietLog, maxFileBytes: 1_000_000, metrics }).start();
  const watcher = createSourceWatcher({
    catalog: core.catalog,
    queue,
    log: quietLog,
    dirs,
    collection: "default",
    maxFileBytes: 1_000_000,
    stabilityMs: opts.stabilityMs ?? 100,
    rescanIntervalMs: opts.rescanIntervalMs,
    burstSettleMs: opts.burstSettleMs,
    rescanTimer: opts.rescanTimer,
    watchFiles: opts.watchFiles,
    ...(opts.log ? { log: opts.log } : {}),
  });
  await watcher.start();
  const deps: ApiDeps = {
    config: apiConfig,
    log: quietLog,
    generator: createExtractiveGenerator(),
    reranker: createLexicalReranker(),
    core,
    queue,
    metrics,
  };
  const app = createApp(deps);
  return {
    app,
    queue,
    watcher,
    deps,
    ask: async (question: string, extra: Record<string, unknown> = {}) => {
      const res = await app.request("/ask", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question, ...extra }),
      });
      return { status: res.status, body: (await res.json()) as any };
    },
    async stop() {
      await watcher.close();
      await queue.close();
      // Metrics computed after their answers must not outlive the database they are written to.
      await deps.metricsQueue?.drain();
    },
  };
}

/**
 * A temporary folder holding `files` (name → text), indexed by the all-in-one pipeline on PGlite
 * with the real USE-Lite: where most answer-path tests start. `close` stops and removes it all.
 */
export async function indexedFolder(files: Record<string, string>, prefix = "rag-test-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text);
  }
  const { core, cleanup } = await makeCore("pglite");
  const pipeline = await startPipeline(core, [dir]);
  await pipeline.queue.idle();
  return {
    dir,
    core,
    pipeline,
    async close() {
      await pipeline.stop();
      await cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
export type IndexedFolder = Awaited<ReturnType<typeof indexedFolder>>;

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  stepMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
