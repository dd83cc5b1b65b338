import { adminActions } from "../common/admin.js";
import { createCoreDeps } from "../common/deps.js";
import { createLogger } from "../common/log.js";
import { onShutdown, runMain } from "../common/process.js";
import { createQueue } from "../common/queue/index.js";
import { startTracing } from "../common/tracing.js";
import { createAnswerers } from "../common/answerers.js";
import { createApp } from "./app.js";
import { loadApiConfig } from "./config.js";
import type { ApiDeps } from "./context.js";
import { sharedRateLimits } from "./rate-limit-redis.js";
import { closeServer, listen } from "./server.js";

/**
 * The query API on its own (scaled-out shape): answers from the database that workers fill.
 * With PGlite it serves whatever index DATA_DIR holds; normally it runs with DATABASE_URL.
 */
runMain(async () => {
  const config = loadApiConfig(process.env);
  const log = createLogger(config.LOG_LEVEL, { service: "api" });
  const tracing = startTracing(config, "api");
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
  onShutdown(async () => {
    await closeServer(server);
    // Answers already sent still get their quality metrics stored.
    await deps.metricsQueue?.drain();
    await queue?.close();
    await core.close();
    await sharedLimits?.close();
    await tracing.shutdown();
  }, log);
});
