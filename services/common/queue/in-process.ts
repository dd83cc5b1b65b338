import { documentKey, jobCatalog, jobId, type JobName, type JobPayload } from "../../../schemas/jobs.js";
import { isPipelineError } from "../../../pipelines/errors.js";
import type { FailedJob, JobHandlers, JobLane, JobQueue } from "./types.js";

interface Pending {
  id: string;
  name: JobName;
  payload: unknown;
  attempts: number;
  notBefore: number;
  lane: JobLane;
}

export interface InProcessQueueOptions {
  onError?: (job: { id: string; name: JobName; attempt: number }, err: unknown, willRetry: boolean) => void;
  /** Shortens backoff in tests; 1 = the catalog's delays. */
  backoffScale?: number;
  /**
   * Jobs run at once (WORKER_CONCURRENCY), never two for one document. Two let one document be
   * read, parsed and written while another one's chunks are in the embedder's threads.
   */
  concurrency?: number;
}

/**
 * The queue of the embedded default, consumed in this process. Jobs for one document replace
 * each other while waiting (the latest change wins); retries back off exponentially; live events
 * are taken before waiting scan jobs. What is waiting is lost with the process, which is why the
 * watcher reconciles at start-up.
 */
export function createInProcessQueue(opts: InProcessQueueOptions = {}): JobQueue {
  const waiting = new Map<string, Pending>(); // keyed by document, in arrival order
  const running = new Set<string>(); // document keys with a job in a handler
  const failed: FailedJob[] = [];
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  let handlers: JobHandlers | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let idleWaiters: Array<() => void> = [];
  const scale = opts.backoffScale ?? 1;

  const isIdle = () => waiting.size === 0 && running.size === 0;
  function settleIdle() {
    if (!isIdle()) {
      return;
    }
    const w = idleWaiters;
    idleWaiters = [];
    for (const resolve of w) {
      resolve();
    }
  }

  function schedule(delay = 0) {
    if (closed || !handlers) {
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(pump, delay);
  }

  /** The first due job of the live lane, else of the scan lane, whose document is not running. */
  function next(now: number): [string, Pending] | undefined {
    let scan: [string, Pending] | undefined;
    for (const entry of waiting) {
      if (entry[1].notBefore > now || running.has(entry[0])) {
        continue;
      }
      if (entry[1].lane === "live") {
        return entry;
      }
      scan ??= entry;
    }
    return scan;
  }

  function pump() {
    if (closed || !handlers) {
      return;
    }
    const now = Date.now();
    while (running.size < concurrency) {
      const picked = next(now);
      if (!picked) {
        break;
      }
      void run(...picked);
    }
    // Nothing more can start now: wake for the soonest backoff, if any (a finishing job re-pumps).
    const soonest = Math.min(...[...waiting.values()].filter((j) => j.notBefore > now).map((j) => j.notBefore));
    if (Number.isFinite(soonest)) {
      clearTimeout(timer);
      timer = setTimeout(pump, soonest - now);
    }
    settleIdle();
  }

  async function run(key: string, job: Pending) {
    waiting.delete(key);
    running.add(key);
    job.attempts++;
    const spec = jobCatalog[job.name];
    try {
      const payload = spec.payload.parse(job.payload);
      const handler = handlers![job.name] as (p: unknown) => Promise<unknown>;
      await withTimeout(handler(payload), spec.timeoutMs, job.id);
    } catch (err) {
      const retryable = !isPipelineError(err) || err.retryable;
      const willRetry = retryable && job.attempts < spec.attempts && !closed;
      opts.onError?.({ id: job.id, name: job.name, attempt: job.attempts }, err, willRetry);
      if (willRetry && !waiting.has(key)) {
        job.notBefore = Date.now() + spec.backoffMs * 2 ** (job.attempts - 1) * scale;
        waiting.set(key, job);
      } else if (!willRetry) {
        failed.push({
          id: job.id,
          name: job.name,
          payload: job.payload,
          attempts: job.attempts,
          error: String(err),
          failedAt: new Date(),
        });
        if (failed.length > 1000) {
          failed.shift();
        }
      }
    } finally {
      running.delete(key);
    }
    schedule();
  }

  return {
    async enqueue(name, payload, options = {}) {
      const parsed = jobCatalog[name].payload.parse(payload) as JobPayload<typeof name>;
      const id = jobId(name, parsed);
      const key = documentKey(parsed);
      // Once a live event queued a document it stays in the live lane, even if the scan replaces it.
      const lane = options.lane === "scan" && waiting.get(key)?.lane !== "live" ? "scan" : "live";
      waiting.set(key, { id, name, payload: parsed, attempts: 0, notBefore: 0, lane });
      schedule();
      return { id };
    },
    process(h) {
      handlers = h;
      schedule();
    },
    async depth() {
      return { waiting: waiting.size, active: running.size, failed: failed.length };
    },
    async failedJobs() {
      return [...failed];
    },
    idle() {
      if (isIdle()) {
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      while (running.size > 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const r of idleWaiters) {
        r();
      }
      idleWaiters = [];
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, id: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`job ${id} timed out after ${ms} ms`)), ms);
    }),
  ]);
}
