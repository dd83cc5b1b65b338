import { ConfigError } from "../common/config.js";
import { runMain } from "../common/process.js";
import { loadWorkerConfig } from "./config.js";

/**
 * The ingestion worker as its own process. It needs a shared queue (BullMQ on Redis) to receive
 * jobs from a separate watcher; until that queue lands, `npm start` runs the worker in-process.
 */
runMain(async () => {
  const config = loadWorkerConfig(process.env);
  throw new ConfigError(
    config.REDIS_URL
      ? "REDIS_URL: the BullMQ queue is not in this build yet; run `npm start`, which runs the worker in-process."
      : "REDIS_URL: a separate worker process needs REDIS_URL (BullMQ); without it run `npm start`, which runs the worker in-process.",
  );
});
