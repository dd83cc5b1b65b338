import type { QueryMetrics } from "../../pipelines/metrics/index.js";
import { QUALITY_METRIC_NAMES } from "../../pipelines/store/quality-queries.js";
import { createQueryMetricsStore } from "../../pipelines/store/query-metrics.js";
import type { Logger } from "../common/log.js";
import type { CoreDeps } from "../common/deps.js";
import type { Metrics } from "../common/metrics.js";

/** The parts of the API's dependencies the queue uses (ApiDeps has them; no import back to context.ts). */
interface QueueHost {
  core: CoreDeps | null;
  config: { METRICS_QUEUE_MAX?: number | undefined };
  log: Logger;
  metrics?: Metrics | undefined;
  metricsQueue?: MetricsQueue | undefined;
}

/** Measurements waiting at most when METRICS_QUEUE_MAX is unset: about 10 s of them on 2 cores. */
export const DEFAULT_METRICS_QUEUE_MAX = 64;

/** Where a deferred measurement goes once computed (the query log), and what hears it (Prometheus). */
export interface MetricsSink {
  /** Stores `metrics` on the logged query, status `done`; `null` marks it `skipped`. */
  record(queryId: string, metrics: QueryMetrics | null): Promise<void>;
  onMetrics?: ((metrics: QueryMetrics) => void) | undefined;
}

export interface MetricsQueue {
  /**
   * Queues one answer's measurement; false when the queue is full (the caller marks it skipped):
   * under overload the metrics are a sample, never a backlog that slows answers.
   */
  offer(queryId: string, compute: () => Promise<QueryMetrics>): boolean;
  /**
   * Whether an offer made now would be taken. When not, the answer counts as skipped here and the
   * caller logs it as skipped in the same write as the answer (no second write under overload).
   */
  admit(): boolean;
  /** Resolves when every queued measurement is stored (tests, shutdown). */
  drain(): Promise<void>;
  stats(): { queued: number; running: number; done: number; skipped: number; failed: number };
}

export interface MetricsQueueOptions {
  /** Measurements waiting at most; more are skipped (METRICS_QUEUE_MAX). */
  maxQueued: number;
  /** Measurements at once. One: they share the cores and the embedder with the answers. */
  concurrency?: number;
  /**
   * Answers in flight now. While any is, a measurement waits up to `yieldMs` (2 s) before it starts,
   * so answers get the CPU and the embedder first; a queue that stays full then sheds the rest.
   */
  busy?: () => number;
  yieldMs?: number;
  log: Logger;
}

/**
 * The quality metrics of each answer, computed after its response is sent, on a bounded in-process
 * queue. They took 302 ms of a 695 ms answer (issue 14) and the user does not wait for them; they
 * still land in the query log (and /quality, Prometheus) a moment later, or are marked skipped.
 */
export function createMetricsQueue(sink: MetricsSink, opts: MetricsQueueOptions): MetricsQueue {
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  // Measured (bench:load, 1 closed-loop client): starting 250 ms after its answer, a measurement's
  // embedding call went ahead of the next question's on the embedder thread and retrieval took 3x
  // as long. Waiting for a pause, up to 2 s, keeps most answers clear of it; a queue that stays
  // full under continuous load then samples.
  const yieldMs = opts.yieldMs ?? 2_000;
  const queue: Array<{ queryId: string; compute: () => Promise<QueryMetrics> }> = [];
  const counts = { done: 0, skipped: 0, failed: 0 };
  let running = 0;
  const idle: Array<() => void> = [];

  const settle = () => {
    if (running === 0 && queue.length === 0) {
      for (const wake of idle.splice(0)) {
        wake();
      }
    }
  };

  async function runOne(job: { queryId: string; compute: () => Promise<QueryMetrics> }) {
    // Answers first: wait (bounded) while some are in flight, so a burst is not slowed by measuring.
    const until = Date.now() + yieldMs;
    while (opts.busy && opts.busy() > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    let metrics: QueryMetrics | null = null;
    try {
      metrics = await job.compute();
    } catch (err) {
      counts.failed++;
      opts.log.warn("quality metrics failed; the query is marked skipped", { queryId: job.queryId, err });
    }
    try {
      await sink.record(job.queryId, metrics);
      if (metrics) {
        counts.done++;
        sink.onMetrics?.(metrics);
      }
    } catch (err) {
      // The answer was sent; a lost metrics row must not take the queue down with it.
      opts.log.error("storing quality metrics failed", { queryId: job.queryId, err });
    }
  }

  function pump() {
    while (running < concurrency && queue.length > 0) {
      const job = queue.shift()!;
      running++;
      void runOne(job).finally(() => {
        running--;
        pump();
        settle();
      });
    }
  }

  return {
    offer(queryId, compute) {
      if (queue.length >= opts.maxQueued) {
        counts.skipped++;
        return false;
      }
      queue.push({ queryId, compute });
      // After the current turn: the response is written before measuring starts.
      setImmediate(pump);
      return true;
    },
    admit() {
      if (queue.length >= opts.maxQueued) {
        counts.skipped++;
        return false;
      }
      return true;
    },
    drain() {
      if (running === 0 && queue.length === 0) {
        return Promise.resolve();
      }
      return new Promise<void>((r) => idle.push(r));
    },
    stats: () => ({ queued: queue.length, running, ...counts }),
  };
}

/**
 * The API's queue: measurements stored in the query log of `deps.core` and observed in
 * Prometheus' `rag_answer_quality`; waits behind answers in flight (`busy`).
 */
export function apiMetricsQueue(deps: QueueHost, busy?: () => number): MetricsQueue {
  return createMetricsQueue(
    {
      record: async (queryId, metrics) => {
        if (!deps.core) {
          throw new Error("no database yet");
        }
        await createQueryMetricsStore(deps.core.database.db).record(queryId, metrics);
      },
      onMetrics: (m) => {
        for (const name of QUALITY_METRIC_NAMES) {
          const value = m[name];
          if (typeof value === "number") {
            deps.metrics?.answerQuality.observe({ metric: name }, value);
          }
        }
      },
    },
    { maxQueued: deps.config.METRICS_QUEUE_MAX ?? DEFAULT_METRICS_QUEUE_MAX, busy, log: deps.log },
  );
}

/** Queues an answer's measurement, or marks it skipped when the queue is full (never waits for room). */
export async function deferMetrics(
  deps: QueueHost,
  queryId: string,
  compute: () => Promise<QueryMetrics>,
): Promise<void> {
  if (deps.metricsQueue?.offer(queryId, compute)) {
    return;
  }
  try {
    if (deps.core) {
      await createQueryMetricsStore(deps.core.database.db).record(queryId, null);
    }
  } catch (err) {
    deps.log.error("marking quality metrics skipped failed", { queryId, err });
  }
}
