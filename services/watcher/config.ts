import { z } from "zod";
import { commonEnv, ConfigError, parseConfig, queueEnv, watcherEnv } from "../common/config.js";
import { createSourceWatcher, type SourceWatcher, type WatchDir, type WatcherOptions } from "./watcher.js";

const COLLECTION_NAME = /^[\w.-]{1,128}$/;

export const WatcherConfigSchema = z.object({ ...commonEnv, ...queueEnv, ...watcherEnv });
export type WatcherConfig = z.infer<typeof WatcherConfigSchema>;

export const loadWatcherConfig = (source: Record<string, string | undefined>) =>
  parseConfig(WatcherConfigSchema, source);

/**
 * WATCH_DIRS is comma-separated; blanks are ignored. `<folder>=<collection>` puts a folder in its
 * own collection (tenant); a plain folder belongs to COLLECTION, as before.
 * @example watchDirs("./docs,./hr=hr") → ["./docs", { dir: "./hr", collection: "hr" }]
 */
export const watchDirs = (value: string): WatchDir[] =>
  value
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.lastIndexOf("=");
      if (eq < 0) {
        return entry;
      }
      const dir = entry.slice(0, eq).trim();
      const collection = entry.slice(eq + 1).trim();
      if (!dir || !COLLECTION_NAME.test(collection)) {
        throw new ConfigError(
          `WATCH_DIRS: "${entry}" must be <folder> or <folder>=<collection>, the collection 1-128 letters, digits, '.', '_' or '-'.`,
        );
      }
      return { dir, collection };
    });

/** The watcher a process runs from its configuration: `npm start` and `npm run watcher` alike. */
export function watcherFromConfig(
  config: Pick<WatcherConfig, "WATCH_DIRS" | "COLLECTION" | "MAX_FILE_BYTES" | "RESCAN_INTERVAL">,
  deps: Pick<WatcherOptions, "catalog" | "queue" | "log">,
): SourceWatcher {
  return createSourceWatcher({
    ...deps,
    dirs: watchDirs(config.WATCH_DIRS),
    collection: config.COLLECTION,
    maxFileBytes: config.MAX_FILE_BYTES,
    rescanIntervalMs: config.RESCAN_INTERVAL,
    progressStream: process.stderr.isTTY ? process.stderr : undefined,
  });
}
