import { Queue, UnrecoverableError, WaitingError, Worker, type Job, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import { isPipelineError } from "../../../pipelines/errors.js";
import { jobCatalog, jobId, type JobName } from "../../../schemas/jobs.js";
import type { Logger } from "../log.js";
import { ConfigError } from "../config.js";
import { QueueUnavailableError } from "../errors.js";
import type { FailedJob, JobHandlers, JobLane, JobQueue, WorkerInfo } from "./types.js";

export const QUEUE_NAME = "ingest";

export interface BullmqQueueOptions {
  url: string;
  /** Namespaces the Redis keys ("bull" by default); tests use one per run. */
  prefix?: string;
  /** Jobs this process runs at once. */
  concurrency?: number;
  /** Called for every failed attempt, like the in-process queue's. */
  onError?: (job: { id: string; name: JobName; attempt: number }, err: unknown, willRetry: boolean) => void;
  /** Connection and worker errors are logged here (the same message at most once a minute). */
  log?: Logger;
  /** Lock lifetime and stalled-check interval (BullMQ's 30 s by default). */
  lockMs?: number;
  /** How long close() lets running jobs finish before handing them back to the queue. */
  shutdownGraceMs?: number;
  /** Shortens backoff in tests; 1 = the catalog's delays. */
  backoffScale?: number;
  /** Stored on each job it takes (BullMQ's processedBy), so an operator can tell who ran what. */
  workerName?: string;
}

// A producer must not hang on a dead Redis: wait this long for a connection, then say so.
const READY_TIMEOUT_MS = 3_000;
// One document never has more runs in flight than there are workers; this only bounds the loop.
const MAX_RERUN_SLOTS = 16;
// BullMQ takes jobs without a priority before any prioritized one: live events carry none, the
// reconciliation scan's jobs this one, so an edit never waits behind a start-up backlog.
const SCAN_PRIORITY = 10;

/**
 * The job catalog on BullMQ, for separate watcher and worker processes (any number of workers).
 * Jobs survive a worker's death: its lock lapses and another worker's stalled check re-runs it.
 */
export function createBullmqQueue(opts: BullmqQueueOptions): JobQueue {
  const where = redactUrl(opts.url);
  const lockMs = opts.lockMs ?? 30_000;
  // Fail fast instead of buffering: a caller told "not enqueued" can retry; one left waiting cannot.
  const producer = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000 });
  let lastError: Error | undefined;
  const producerErrors = throttled("redis unavailable to the producer; reconnecting", opts.log);
  producer.on("error", (err: Error) => {
    lastError = err;
    producerErrors(err);
  });
  // "ready" after a lost connection, not the first one: the Redis may have come back empty.
  const reconnectListeners: Array<() => void> = [];
  let connectionLost = false;
  producer.on("close", () => {
    connectionLost = true;
  });
  producer.on("ready", () => {
    if (!connectionLost || closed) {
      return;
    }
    connectionLost = false;
    opts.log?.info("redis reachable again", { redis: where });
    for (const listener of reconnectListeners) {
      listener();
    }
  });
  const queue = new Queue(QUEUE_NAME, { connection: producer, prefix: opts.prefix });
  queue.on("error", () => {}); // the producer connection reports its own errors above
  let worker: Worker | undefined;
  let closed = false;
  const running = new Map<string, { job: Job; token: string; release: (err: Error) => void }>();

  const jobOptions = (name: JobName, lane: JobLane): JobsOptions => {
    const spec = jobCatalog[name];
    return {
      ...(lane === "scan" && { priority: SCAN_PRIORITY }),
      attempts: spec.attempts,
      backoff: { type: "exponential", delay: Math.max(1, Math.round(spec.backoffMs * (opts.backoffScale ?? 1))) },
      // Recent history for operators; enqueue() removes a finished job it must run again.
      removeOnComplete: { count: 1000 },
      // Failed jobs stay until the same change is enqueued again, so an operator sees them.
      removeOnFail: { count: 10_000 },
    };
  };

  async function redis<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      await untilReady(producer, READY_TIMEOUT_MS, () => lastError);
      return await op();
    } catch (err) {
      throw new QueueUnavailableError(`Cannot ${what}: Redis at ${where} is unavailable (${(err as Error).message}).`, {
        cause: err,
      });
    }
  }

  /**
   * BullMQ ignores add() for an id it still holds, so the deterministic id alone would drop a
   * change: a finished job (completed or failed: A→B→A, a file deleted twice) is removed and added
   * again, and a running one may have read the file before this change, so a follow-up run is
   * queued under a numbered id. A waiting or delayed job has not started; it will see the change.
   */
  async function addFresh(name: JobName, base: string, data: unknown, lane: JobLane): Promise<{ id: string }> {
    let slot = 0;
    for (let tries = 0; tries < MAX_RERUN_SLOTS * 2; tries++) {
      const id = slot === 0 ? base : `${base}-rerun${slot}`;
      const state = await queue.getJobState(id);
      if (state === "active") {
        slot++;
        continue;
      }
      if (state === "completed" || state === "failed") {
        // 0 when it changed state meanwhile (a manual retry): look again.
        if ((await queue.remove(id)) === 0) {
          continue;
        }
      } else if (state !== "unknown") {
        // The scan queued this very change and a live event now reports it: move it to the front.
        if (state === "prioritized" && lane === "live") {
          await (await queue.getJob(id))?.changePriority({ priority: 0 });
        }
        return { id };
      }
      await queue.add(name, data, { ...jobOptions(name, lane), jobId: id });
      return { id };
    }
    throw new Error(`no free job id for ${base}`);
  }

  async function run(job: Job, token: string | undefined, handlers: JobHandlers): Promise<unknown> {
    const name = job.name as JobName;
    const spec = jobCatalog[name];
    if (!spec) {
      throw new UnrecoverableError(`unknown job name ${JSON.stringify(job.name)}`);
    }
    const parsed = spec.payload.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`invalid ${name} payload: ${parsed.error.message}`);
    }
    const handler = handlers[name] as (payload: unknown) => Promise<unknown>;
    let timer: NodeJS.Timeout | undefined;
    const stop = new Promise<never>((_, reject) => {
      running.set(job.id!, { job, token: token ?? "", release: reject });
      timer = setTimeout(() => reject(new Error(`job ${job.id} timed out after ${spec.timeoutMs} ms`)), spec.timeoutMs);
    });
    try {
      return await Promise.race([handler(parsed.data), stop]);
    } catch (err) {
      // Unreadable input or a refused model will not heal by waiting: fail now, keep it visible.
      if (isPipelineError(err) && !err.retryable) {
        throw new UnrecoverableError(`${err.code}: ${err.message}`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      running.delete(job.id!);
    }
  }

  /** Hands running jobs back to the queue, so another worker takes them now, not after the lock lapses. */
  async function releaseRunning() {
    await Promise.all(
      [...running.values()].map(async ({ job, token, release }) => {
        await job.moveToWait(token).then(
          () => opts.log?.info("job handed back to the queue", { job: job.id }),
          (err: unknown) => opts.log?.warn("job not handed back; its lock will lapse", { job: job.id, err }),
        );
        release(new WaitingError());
      }),
    );
  }

  return {
    async enqueue(name, payload, options = {}) {
      const parsed = jobCatalog[name].payload.parse(payload);
      const base = jobId(name, parsed as never);
      return redis(`enqueue ${name} for ${parsed.path}`, () => addFresh(name, base, parsed, options.lane ?? "live"));
    },

    process(handlers) {
      if (worker) {
        throw new Error("process() was already called on this queue");
      }
      worker = new Worker(QUEUE_NAME, (job, token) => run(job, token, handlers), {
        // Blocking reads need a connection that waits out outages instead of failing commands.
        connection: { url: opts.url, maxRetriesPerRequest: null, connectTimeout: 5_000 },
        prefix: opts.prefix,
        concurrency: opts.concurrency ?? 1,
        lockDuration: lockMs,
        // Renewals run only between embedding passes, which block the event loop for a second or
        // two; renewing at a quarter of the lock (BullMQ: half) leaves room for a few late ones.
        lockRenewTime: lockMs / 4,
        stalledInterval: lockMs,
        // A job whose worker died twice (a crash, then a redeploy) still runs; a third time it fails visibly.
        maxStalledCount: 2,
        ...(opts.workerName ? { name: opts.workerName } : {}),
      });
      // ioredis reconnects by itself; without a listener an error event would crash the process.
      worker.on("error", throttled("queue worker error", opts.log));
      worker.on("failed", (job, err) => {
        if (!job || err instanceof WaitingError || err.name === "WaitingError") {
          return;
        }
        const attempts = job.opts.attempts ?? 1;
        const willRetry = !(err instanceof UnrecoverableError) && job.attemptsMade < attempts;
        opts.onError?.({ id: job.id!, name: job.name as JobName, attempt: job.attemptsMade }, err, willRetry);
      });
    },

    onReconnect(listener) {
      reconnectListeners.push(listener);
    },

    async depth() {
      const c = await redis("read the queue depth", () =>
        queue.getJobCounts("waiting", "delayed", "prioritized", "active", "failed"),
      );
      return {
        waiting: (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        failed: c.failed ?? 0,
      };
    },

    async workers(): Promise<WorkerInfo[]> {
      // Each worker holds more than one named connection; the client name is "<prefix>:<queue>:w:<name>".
      const list = await redis("list the workers", () => queue.getWorkers());
      const byName = new Map<string, WorkerInfo>();
      for (const w of list) {
        const raw = w.rawname ?? w.name ?? "";
        const name = raw.includes(":w:") ? raw.slice(raw.indexOf(":w:") + 3) : raw;
        const info = { name, ageSeconds: Number(w.age ?? 0), idleSeconds: Number(w.idle ?? 0) };
        const seen = byName.get(name);
        if (!seen || info.idleSeconds < seen.idleSeconds) {
          byName.set(name, info);
        }
      }
      return [...byName.values()];
    },

    async failedJobs(): Promise<FailedJob[]> {
      const jobs = await redis("list failed jobs", () => queue.getFailed(0, 999));
      return jobs.map((j) => ({
        id: j.id!,
        name: j.name as JobName,
        payload: j.data,
        attempts: j.attemptsMade,
        error: j.failedReason,
        failedAt: new Date(j.finishedOn ?? j.timestamp),
      }));
    },

    async idle() {
      // BullMQ has no "drained everywhere" event across processes; counting is the reliable test.
      while (!closed) {
        const c = await redis("read the queue depth", () =>
          queue.getJobCounts("waiting", "delayed", "prioritized", "active", "waiting-children"),
        );
        if (Object.values(c).every((n) => n === 0)) {
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },

    async close() {
      if (closed) {
        return;
      }
      closed = true;
      if (worker) {
        const closing = worker.close();
        const finished = await within(closing, opts.shutdownGraceMs ?? 5_000);
        if (!finished) {
          await releaseRunning();
          await within(closing, 5_000);
        }
      }
      // A producer that never connected would make queue.close() wait for it.
      if (producer.status !== "ready") {
        producer.disconnect();
      }
      await within(queue.close(), 5_000);
      producer.disconnect();
    },
  };
}

// Defined with the other service errors; exported here too, where callers of the queue look for it.
export { QueueUnavailableError };

/**
 * Start-up check for separate processes: a REDIS_URL that answers nothing stops start-up with a
 * message, as an unreachable database does. Later outages are waited out instead.
 */
export async function assertRedisReachable(url: string, timeoutMs = 5_000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause: Error | undefined; // connect() only says "Connection is closed"; the error event says why
  client.on("error", (err: Error) => (cause ??= err));
  try {
    await within(client.connect(), timeoutMs, true);
    await client.ping();
  } catch (err) {
    throw new ConfigError(
      `REDIS_URL: cannot reach Redis at ${redactUrl(url)} (${(cause ?? (err as Error)).message}); start Redis or fix REDIS_URL.`,
      { cause: err },
    );
  } finally {
    client.disconnect();
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) {
      u.password = "***";
    }
    return u.toString();
  } catch {
    return "(unparseable REDIS_URL)";
  }
}

function untilReady(client: Redis, ms: number, lastError: () => Error | undefined): Promise<void> {
  if (client.status === "ready") {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(lastError() ?? new Error(`no connection within ${ms} ms`));
    }, ms);
    client.once("ready", onReady);
  });
}

/** Whether `p` settled within `ms`; with `rethrow`, a rejection or the timeout throws instead. */
async function within(p: Promise<unknown>, ms: number, rethrow = false): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve, reject) => {
    timer = setTimeout(() => (rethrow ? reject(new Error(`no answer within ${ms} ms`)) : resolve(false)), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        (err: unknown) => (rethrow ? Promise.reject(err) : true),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Logs an error once a minute at most: ioredis reports every failed reconnect attempt. */
function throttled(msg: string, log: Logger | undefined) {
  const last = new Map<string, number>();
  return (err: Error) => {
    const now = Date.now();
    if (now - (last.get(err.message) ?? 0) < 60_000) {
      return;
    }
    last.set(err.message, now);
    log?.warn(msg, { err });
  };
}
