import { documentKey, jobCatalog, jobId, type JobName, type JobPayload } from "../../../schemas/jobs.js";
import { isPipelineError } from "../../../pipelines/errors.js";
import type { FailedJob, JobHandlers, JobQueue } from "./types.js";

interface Pending {
  id: string;
  name: JobName;
  payload: unknown;
  attempts: number;
  notBefore: number;
}

export interface InProcessQueueOptions {
  onError?: (job: { id: string; name: JobName; attempt: number }, err: unknown, willRetry: boolean) => void;
  /** Shortens backoff in tests; 1 = the catalog's delays. */
  backoffScale?: number;
}

/**
 * The queue of the embedded default: one consumer, in this process. Jobs for one document
 * replace each other while waiting (the latest change wins); retries back off exponentially.
 * What is waiting is lost with the process, which is why the watcher reconciles at start-up.
 */
export function createInProcessQueue(opts: InProcessQueueOptions = {}): JobQueue {
  const waiting = new Map<string, Pending>(); // keyed by document
  const failed: FailedJob[] = [];
  let handlers: JobHandlers | undefined;
  let active = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let idleWaiters: Array<() => void> = [];
  const scale = opts.backoffScale ?? 1;

  const isIdle = () => waiting.size === 0 && active === 0;
  function settleIdle() {
    if (!isIdle()) return;
    const w = idleWaiters;
    idleWaiters = [];
    w.forEach((resolve) => resolve());
  }

  function schedule(delay = 0) {
    if (closed || !handlers) return;
    clearTimeout(timer);
    timer = setTimeout(() => void pump(), delay);
  }

  async function pump() {
    if (closed || !handlers || active > 0) return;
    const now = Date.now();
    const next = [...waiting.entries()].find(([, j]) => j.notBefore <= now);
    if (!next) {
      const soonest = Math.min(...[...waiting.values()].map((j) => j.notBefore));
      if (Number.isFinite(soonest)) schedule(soonest - now);
      return settleIdle();
    }
    const [key, job] = next;
    waiting.delete(key);
    active++;
    job.attempts++;
    const spec = jobCatalog[job.name];
    try {
      const payload = spec.payload.parse(job.payload);
      const handler = handlers[job.name] as (p: unknown) => Promise<unknown>;
      await withTimeout(handler(payload), spec.timeoutMs, job.id);
    } catch (err) {
      const retryable = !isPipelineError(err) || err.retryable;
      const willRetry = retryable && job.attempts < spec.attempts && !closed;
      opts.onError?.({ id: job.id, name: job.name, attempt: job.attempts }, err, willRetry);
      if (willRetry && !waiting.has(key)) {
        job.notBefore = Date.now() + spec.backoffMs * 2 ** (job.attempts - 1) * scale;
        waiting.set(key, job);
      } else if (!willRetry) {
        failed.push({ id: job.id, name: job.name, payload: job.payload, attempts: job.attempts, error: String(err), failedAt: new Date() });
        if (failed.length > 1000) failed.shift();
      }
    } finally {
      active--;
    }
    schedule();
  }

  return {
    async enqueue(name, payload) {
      const parsed = jobCatalog[name].payload.parse(payload) as JobPayload<typeof name>;
      const id = jobId(name, parsed);
      waiting.set(documentKey(parsed), { id, name, payload: parsed, attempts: 0, notBefore: 0 });
      schedule();
      return { id };
    },
    process(h) {
      handlers = h;
      schedule();
    },
    async depth() {
      return { waiting: waiting.size, active, failed: failed.length };
    },
    async failedJobs() {
      return [...failed];
    },
    idle() {
      if (isIdle()) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      while (active > 0) await new Promise((r) => setTimeout(r, 10));
      idleWaiters.forEach((r) => r());
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
