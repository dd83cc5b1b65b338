import { ConfigError } from "../common/config.js";
import { runMain } from "../common/process.js";
import { loadWatcherConfig } from "./config.js";

/**
 * The source watcher as its own process. Like the worker, it needs the shared BullMQ queue;
 * until that lands, `npm start` runs the watcher in-process.
 */
runMain(async () => {
  const config = loadWatcherConfig(process.env);
  throw new ConfigError(
    config.REDIS_URL
      ? "REDIS_URL: the BullMQ queue is not in this build yet; run `npm start`, which runs the watcher in-process."
      : "REDIS_URL: a separate watcher process needs REDIS_URL (BullMQ); without it run `npm start`, which runs the watcher in-process.",
  );
});
