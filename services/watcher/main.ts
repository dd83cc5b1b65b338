import { ConfigError } from "../common/config.js";
import { openCatalog } from "../common/deps.js";
import { createLogger } from "../common/log.js";
import { onShutdown, runMain } from "../common/process.js";
import { assertRedisReachable } from "../common/queue/bullmq.js";
import { createQueue } from "../common/queue/index.js";
import { startTracing } from "../common/tracing.js";
import { loadWatcherConfig, watchDirs, watcherFromConfig } from "./config.js";

/**
 * The source watcher as its own process: registers the watched folders, reconciles them with the
 * index (what changed while nothing watched) and turns file events into jobs on BullMQ for the
 * worker processes. It never embeds, so it opens the catalog without loading a model.
 */
runMain(async () => {
  const config = loadWatcherConfig(process.env);
  if (!config.REDIS_URL) {
    throw new ConfigError(
      "REDIS_URL: a separate watcher process needs REDIS_URL (BullMQ on Redis) to hand jobs to worker processes; " +
        "without Redis, run `npm start`, which runs the watcher in-process.",
    );
  }
  const log = createLogger(config.LOG_LEVEL, { service: "watcher" });
  const tracing = startTracing(config, "watcher");
  await assertRedisReachable(config.REDIS_URL);
  const catalog = await openCatalog(config, log);
  const queue = createQueue(config, { log });
  const watcher = watcherFromConfig(config, { catalog: catalog.catalog, queue, log });
  onShutdown(async () => {
    await watcher.close();
    await queue.close();
    await catalog.close();
    await tracing.shutdown();
  }, log);
  await watcher.start();
  log.info("ready", { dirs: watchDirs(config.WATCH_DIRS) });
});
