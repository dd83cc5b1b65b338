import { adminActions } from "../common/admin.js";
import { createCoreDeps } from "../common/deps.js";
import type { Logger } from "../common/log.js";
import { createQueue } from "../common/queue/index.js";
import { createAnswerers } from "../common/answerers.js";
import { createApp } from "./app.js";
import type { ApiServiceConfig } from "./config.js";
import type { ApiDeps } from "./context.js";
import { sharedRateLimits } from "./rate-limit-redis.js";
import { closeServer, listen } from "./server.js";

/**
 * The query API of one process: listens first (so /healthz and /readyz answer during start-up),
 * then opens the database and loads the model. Used by `services/api/main.ts`, alone or as one of
 * API_PROCESSES cluster workers, and by the all-in-one's API workers. Returns the shutdown.
 */
export async function startApi(config: ApiServiceConfig, log: Logger): Promise<() => Promise<void>> {
  const { generator, reranker, metricsJudge, rewriter } = await createAnswerers(config, log);
  // Read-only use of the queue (depth and workers for /status and /metrics); this process runs no jobs.
  const queue = config.REDIS_URL ? createQueue(config, { log }) : undefined;
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
  deps.admin = adminActions(core, config, log);
  deps.core = core;
  log.info("ready", { generation: core.runtime.current().generation.id });
  return async () => {
    await closeServer(server);
    // Answers already sent still get their quality metrics stored.
    await deps.metricsQueue?.drain();
    await queue?.close();
    await core.close();
    await sharedLimits?.close();
  };
}
