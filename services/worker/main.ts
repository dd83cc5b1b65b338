import { hostname } from "node:os";
import { ConfigError } from "../common/config.js";
import { createCoreDeps } from "../common/deps.js";
import { createLogger } from "../common/log.js";
import { onShutdown, runMain } from "../common/process.js";
import { assertRedisReachable } from "../common/queue/bullmq.js";
import { showOcrProgress } from "../common/ocr-progress.js";
import { createQueue } from "../common/queue/index.js";
import { startTracing } from "../common/tracing.js";
import { loadWorkerConfig } from "./config.js";
import { createWorker } from "../common/ingest-worker.js";

const HEARTBEAT_MS = 60_000;

/**
 * The ingestion worker as its own process: takes jobs from BullMQ on Redis, any number of them
 * side by side. A worker killed mid-job loses nothing: its lock lapses (WORKER_LOCK_MS) and
 * another worker runs the job again. SIGTERM lets the running job finish for up to
 * WORKER_SHUTDOWN_GRACE_MS, then hands it back to the queue.
 */
runMain(async () => {
  const config = loadWorkerConfig(process.env);
  if (!config.REDIS_URL) {
    throw new ConfigError(
      "REDIS_URL: a separate worker process needs REDIS_URL (BullMQ on Redis) to receive jobs from the watcher; " +
        "without Redis, run `npm start`, which runs the worker in-process.",
    );
  }
  const log = createLogger(config.LOG_LEVEL, { service: "worker" });
  const tracing = startTracing(config, "worker");
  // Before the model loads (seconds): a wrong REDIS_URL should not take that long to report.
  await assertRedisReachable(config.REDIS_URL);
  const core = await createCoreDeps(config, log);
  const queue = createQueue(config, { log, workerName: `${hostname()}-${process.pid}` });
  createWorker({ core, queue, log, maxFileBytes: config.MAX_FILE_BYTES }).start();
  showOcrProgress(core.ocr, { log });

  const heartbeat = setInterval(() => {
    queue.depth().then(
      (depth) => log.info("heartbeat", { queue: depth }),
      (err: unknown) => log.warn("heartbeat: queue unreachable", { err }),
    );
  }, HEARTBEAT_MS);
  heartbeat.unref();
  onShutdown(async () => {
    clearInterval(heartbeat);
    await queue.close();
    await core.close();
    await tracing.shutdown();
  }, log);
  log.info("ready", { concurrency: config.WORKER_CONCURRENCY, generation: core.runtime.current().generation.id });
});
