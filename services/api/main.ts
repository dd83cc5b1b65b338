import { assertClusterable, isApiWorker, runApiPrimary } from "../common/cluster.js";
import { createLogger } from "../common/log.js";
import { onShutdown, runMain } from "../common/process.js";
import { startTracing } from "../common/tracing.js";
import { loadApiConfig } from "./config.js";
import { startApi } from "./serve.js";

/**
 * The query API on its own (scaled-out shape): answers from the database that workers fill.
 * With PGlite it serves whatever index DATA_DIR holds; normally it runs with DATABASE_URL.
 * API_PROCESSES > 1: this process forks that many API processes sharing PORT (node:cluster).
 */
runMain(async () => {
  const config = loadApiConfig(process.env);
  assertClusterable(config);
  const clustered = config.API_PROCESSES > 1;
  // Several processes write one log: each line says which one.
  const log = createLogger(config.LOG_LEVEL, { service: "api", ...(clustered && { pid: process.pid }) });
  if (clustered && !isApiWorker()) {
    runApiPrimary(config.API_PROCESSES, log);
    return;
  }
  const tracing = startTracing(config, "api");
  const stop = await startApi(config, log);
  onShutdown(async () => {
    await stop();
    await tracing.shutdown();
  }, log);
});
