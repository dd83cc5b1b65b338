import type { JobName, JobPayload } from "../../../schemas/jobs.js";

export type JobHandlers = { [N in JobName]: (payload: JobPayload<N>) => Promise<unknown> };

export interface QueueDepth {
  waiting: number;
  active: number;
  /** Jobs that exhausted their attempts; kept so an operator can see them. */
  failed: number;
}

export interface WorkerInfo {
  name: string;
  /** Seconds since the worker connected. */
  ageSeconds: number;
  /** Seconds since its connection last issued a command: the liveness heartbeat. */
  idleSeconds: number;
}

export interface FailedJob {
  id: string;
  name: JobName;
  payload: unknown;
  attempts: number;
  error: string;
  failedAt: Date;
}

/**
 * Which lane a job waits in. `live` (the default): a file event someone is waiting to see
 * searchable. `scan`: the reconciliation scan's catch-up work, which can be thousands of jobs at
 * start-up; live jobs are taken before any waiting scan job, so an edit is not stuck behind them.
 */
export type JobLane = "live" | "scan";

export interface EnqueueOptions {
  lane?: JobLane;
}

/**
 * Carries ingestion jobs from watchers to workers. In-process for the embedded default; BullMQ on
 * Redis when `REDIS_URL` is set. Both use the job catalog in schemas/jobs.ts.
 */
export interface JobQueue {
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options?: EnqueueOptions): Promise<{ id: string }>;
  /** Starts consuming with these handlers. */
  process(handlers: JobHandlers): void;
  depth(): Promise<QueueDepth>;
  failedJobs(): Promise<FailedJob[]>;
  /**
   * Worker processes consuming this queue, as the broker sees them (BullMQ: Redis CLIENT LIST of
   * its worker connections, so a dead worker drops out by itself). Absent for the in-process queue.
   */
  workers?(): Promise<WorkerInfo[]>;
  /**
   * Calls `listener` each time the broker is reachable again after the connection was lost
   * (BullMQ: Redis restarted or the network came back). A Redis restarted without persistence has
   * lost every queued job, and enqueues made meanwhile failed: the watcher reconciles then.
   * Absent for the in-process queue, whose jobs live and die with the process.
   */
  onReconnect?(listener: () => void): void;
  /** Resolves when nothing is waiting or running (used after a start-up scan, and by tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}
