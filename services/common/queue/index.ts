import type { Logger } from "../log.js";
import { createBullmqQueue } from "./bullmq.js";
import { createInProcessQueue } from "./in-process.js";
import type { JobQueue } from "./types.js";

export type { JobQueue } from "./types.js";

export interface QueueConfig {
  REDIS_URL?: string | undefined;
  QUEUE_PREFIX?: string;
  WORKER_CONCURRENCY?: number;
  WORKER_LOCK_MS?: number;
  WORKER_SHUTDOWN_GRACE_MS?: number;
}

export interface QueueOptions {
  log: Logger;
  /** Stored on jobs this process runs (BullMQ only). */
  workerName?: string;
}

/**
 * The queue named by the configuration: BullMQ on Redis when REDIS_URL is set (jobs survive the
 * process and any number of workers share them), else the in-process queue of the embedded
 * default. Both carry the same catalog; job failures are logged the same way.
 */
export function createQueue(config: QueueConfig, opts: QueueOptions): JobQueue {
  const onError = logJobFailure(opts.log);
  if (!config.REDIS_URL) {
    return createInProcessQueue({ onError, concurrency: config.WORKER_CONCURRENCY });
  }
  return createBullmqQueue({
    url: config.REDIS_URL,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockMs: config.WORKER_LOCK_MS,
    shutdownGraceMs: config.WORKER_SHUTDOWN_GRACE_MS,
    workerName: opts.workerName,
    log: opts.log,
    onError,
  });
}

function logJobFailure(log: Logger) {
  return (job: { id: string; attempt: number }, err: unknown, willRetry: boolean) =>
    (willRetry ? log.warn : log.error)("job failed", { job: job.id, attempt: job.attempt, willRetry, err });
}
