import { adminActions } from "../common/admin.js";
import { createCoreDeps } from "../common/deps.js";
import type { Logger } from "../common/log.js";
import { createQueue } from "../common/queue/index.js";
import { createAnswerers } from "../common/answerers.js";
import { createApp } from "./app.js";
import type { ApiServiceConfig } from "./config.js";
import type { ApiDeps } from "./context.js";
import type { CoreDeps } from "../common/deps.js";
import type { JobQueue } from "../common/queue/types.js";
import { sharedRateLimits } from "./rate-limit-redis.js";
import { closeServer, listen } from "./server.js";

/** An API process's HTTP side once its database is open (openApi). */
export interface OpenedApi {
  deps: ApiDeps;
  core: CoreDeps;
  /** Starts answering (/ask and the rest, /readyz 200): the core and the admin actions go in. */
  ready(): void;
  /** Stops listening, stores the metrics of answers already sent, closes the core and the shared limits. */
  close(): Promise<void>;
}

/**
 * Listens first (so /healthz and /readyz answer during start-up), then opens the database and loads
 * the model; a failure to open is kept for /readyz and the server closed. `queue` is a read-only
 * view for /status and /metrics (closed with the rest); a process that runs jobs sets
 * `deps.queue` itself and closes it. Shared by `startApi` and the all-in-one process.
 */
export async function openApi(config: ApiServiceConfig, log: Logger, queue?: JobQueue): Promise<OpenedApi> {
  const { generator, reranker, metricsJudge, rewriter } = await createAnswerers(config, log);
  // With REDIS_URL, every API process takes from one rate-limit bucket per key.
  const sharedLimits = sharedRateLimits(config, log);
  const deps: ApiDeps = {
    config,
    log,
    generator,
    reranker,
    metricsJudge,
    rewriter,
    core: null,
    queue,
    sharedRateLimiter: sharedLimits?.create,
  };
  const server = await listen(createApp(deps).fetch, config.PORT, config.HOST);
  log.info("listening", { port: config.PORT, host: config.HOST });
  const core = await createCoreDeps(config, log).catch((err: unknown) => {
    deps.startupError = (err as Error).message;
    return closeServer(server).then(() => Promise.reject(err));
  });
  return {
    deps,
    core,
    ready() {
      deps.admin = adminActions(core, config, log);
      deps.core = core;
      log.info("ready", { generation: core.runtime.current().generation.id });
    },
    async close() {
      await closeServer(server);
      // Answers already sent still get their quality metrics stored.
      await deps.metricsQueue?.drain();
      await queue?.close();
      await core.close();
      await sharedLimits?.close();
    },
  };
}

/**
 * The query API of one process (openApi, then ready). Used by `services/api/main.ts`, alone or as
 * one of API_PROCESSES cluster workers, and by the all-in-one's API workers. Returns the shutdown.
 */
export async function startApi(config: ApiServiceConfig, log: Logger): Promise<() => Promise<void>> {
  // Read-only use of the queue (depth and workers for /status and /metrics); this process runs no jobs.
  const api = await openApi(config, log, config.REDIS_URL ? createQueue(config, { log }) : undefined);
  api.ready();
  return () => api.close();
}
