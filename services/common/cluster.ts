import cluster, { type Worker } from "node:cluster";
import { ConfigError } from "./config.js";
import type { Logger } from "./log.js";

/** What API_PROCESSES needs from the configuration. */
export interface ClusterConfig {
  API_PROCESSES: number;
  DATABASE_URL?: string | undefined;
  REDIS_URL?: string | undefined;
  RATE_LIMIT_PER_MINUTE?: number | undefined;
}

/**
 * Several API processes need a database they can all open, and limits they all share: PGlite is
 * one process's (its data directory is locked to it), and a rate limit kept in memory would be
 * enforced once per process, so N processes would allow N times the rate.
 */
export function assertClusterable(config: ClusterConfig): void {
  if (config.API_PROCESSES <= 1) {
    return;
  }
  if (!config.DATABASE_URL) {
    throw new ConfigError(
      `API_PROCESSES: ${config.API_PROCESSES} API processes need DATABASE_URL (PostgreSQL with pgvector); ` +
        "the embedded PGlite database serves one process. Set DATABASE_URL or API_PROCESSES=1.",
    );
  }
  if (!config.REDIS_URL && config.RATE_LIMIT_PER_MINUTE !== 0) {
    throw new ConfigError(
      `API_PROCESSES: ${config.API_PROCESSES} API processes need REDIS_URL to share rate limits ` +
        "(each process would otherwise allow the whole limit); set REDIS_URL, or RATE_LIMIT_PER_MINUTE=0 to turn limits off.",
    );
  }
}

/** True in a process that API_PROCESSES forked to serve HTTP (node:cluster worker). */
export const isApiWorker = () => cluster.isWorker;

// A worker that dies this soon after it was forked, before it listened, most likely always will
// (a port in use, a database refused): stop instead of forking it again forever.
const START_TIMEOUT_MS = 600_000;

/**
 * The primary of API_PROCESSES: forks `n` processes running this same entry point; node:cluster
 * hands each incoming connection on PORT to one of them in turn. A worker that dies after it
 * listened is replaced (as a supervisor would); one that dies before it ever listened stops the
 * whole service with its exit code, since its replacement would fail the same way. SIGTERM and
 * SIGINT are passed to every worker, each finishing its requests; the primary exits after them.
 */
export function runApiPrimary(n: number, log: Logger, opts: { onStop?: () => Promise<void> } = {}): void {
  let stopping = false;
  const listening = new Set<number>();
  const fork = () => {
    const worker = cluster.fork();
    const timer = setTimeout(() => {
      if (!listening.has(worker.id)) {
        log.error("API process did not start listening; stopping", { pid: worker.process.pid });
        void stop(1);
      }
    }, START_TIMEOUT_MS);
    timer.unref();
    worker.once("listening", () => {
      clearTimeout(timer);
      listening.add(worker.id);
      if (listening.size === n) {
        log.info("API processes listening", { processes: n });
      }
    });
    return worker;
  };
  const stop = async (code: number) => {
    if (stopping) {
      return;
    }
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) {
              resolve();
              return;
            }
            w.once("exit", () => resolve());
            w.process.kill("SIGTERM");
          }),
      ),
    );
    await opts.onStop?.().catch((err: unknown) => log.error("shutdown failed", { err }));
    process.exit(code);
  };
  cluster.on("exit", (worker, code, signal) => {
    const started = listening.delete(worker.id);
    if (stopping) {
      return;
    }
    if (!started) {
      log.error("API process exited during start-up; stopping", { pid: worker.process.pid, code, signal });
      void stop(code || 1);
      return;
    }
    log.warn("API process exited; starting another", { pid: worker.process.pid, code, signal });
    // A second apart: a process that keeps dying (its database down at start-up) must not spin.
    setTimeout(() => {
      if (!stopping) {
        fork();
      }
    }, 1000);
  });
  for (let i = 0; i < n; i++) {
    fork();
  }
  const onSignal = (signal: string) => {
    if (stopping) {
      process.exit(1);
    }
    log.info(`${signal} received, stopping the API processes`);
    void stop(0);
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}
