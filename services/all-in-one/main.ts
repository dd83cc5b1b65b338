import { openApi, startApi } from "../api/serve.js";
import { assertClusterable, isApiWorker, runApiPrimary } from "../common/cluster.js";
import { createCoreDeps } from "../common/deps.js";
import { createLogger } from "../common/log.js";
import { onShutdown, runMain } from "../common/process.js";
import { assertRedisReachable } from "../common/queue/bullmq.js";
import { createQueue } from "../common/queue/index.js";
import { showOcrProgress } from "../common/ocr-progress.js";
import { showDrain } from "../common/progress.js";
import { startTracing } from "../common/tracing.js";
import { watcherFromConfig } from "../watcher/config.js";
import { createWorker } from "../common/ingest-worker.js";
import { type AllInOneConfig, loadAllInOneConfig } from "./config.js";

/**
 * The embedded default: API, watcher and worker in one process, PGlite under DATA_DIR and an
 * in-process queue (BullMQ when REDIS_URL is set, so separate workers can join in). The HTTP server starts first so /healthz and /readyz answer during start-up.
 * API_PROCESSES > 1 (with DATABASE_URL): this process watches and ingests, and forks that many API
 * processes sharing PORT (node:cluster).
 */
runMain(async () => {
  const config = loadAllInOneConfig(process.env);
  assertClusterable(config);
  if (config.API_PROCESSES > 1) {
    await startClustered(config);
    return;
  }
  const log = createLogger(config.LOG_LEVEL, { service: "all-in-one" });
  const tracing = startTracing(config, "all-in-one");
  if (config.REDIS_URL) {
    await assertRedisReachable(config.REDIS_URL);
  }
  const api = await openApi(config, log);
  const { deps: apiDeps, core } = api;
  const queue = createQueue(config, { log });
  apiDeps.queue = queue;
  createWorker({ core, queue, log, maxFileBytes: config.MAX_FILE_BYTES, metrics: apiDeps.metrics }).start();
  showOcrProgress(core.ocr, { log });
  const watcher = watcherFromConfig(config, { catalog: core.catalog, queue, log });
  onShutdown(async () => {
    await watcher.close();
    await queue.close();
    await api.close();
    await tracing.shutdown();
  }, log);
  // Ready once the folders are watched: a file copied in after /readyz says so is never missed.
  await watcher.start();
  // On a terminal, show a large start-up backlog draining: indexing a big folder takes minutes.
  if (process.stderr.isTTY) {
    void queue
      .depth()
      .then((d) => (d.waiting >= 200 ? showDrain(queue, { label: "indexing", stream: process.stderr }) : undefined))
      .catch(() => {});
  }
  api.ready();
});

/** API_PROCESSES > 1: the primary runs the watcher and the worker, each forked process the API alone. */
async function startClustered(config: AllInOneConfig) {
  const log = createLogger(config.LOG_LEVEL, { service: "all-in-one", pid: process.pid });
  const tracing = startTracing(config, "all-in-one");
  if (isApiWorker()) {
    const stop = await startApi(config, log);
    onShutdown(async () => {
      await stop();
      await tracing.shutdown();
    }, log);
    return;
  }
  if (config.REDIS_URL) {
    await assertRedisReachable(config.REDIS_URL);
  }
  const core = await createCoreDeps(config, log);
  const queue = createQueue(config, { log });
  createWorker({ core, queue, log, maxFileBytes: config.MAX_FILE_BYTES }).start();
  showOcrProgress(core.ocr, { log });
  const watcher = watcherFromConfig(config, { catalog: core.catalog, queue, log });
  // Forked after the migrations ran here: the API processes then find the schema in place.
  runApiPrimary(config.API_PROCESSES, log, {
    onStop: async () => {
      await watcher.close();
      await queue.close();
      await core.close();
      await tracing.shutdown();
    },
  });
  await watcher.start();
  log.info("ready", { generation: core.runtime.current().generation.id, apiProcesses: config.API_PROCESSES });
}
