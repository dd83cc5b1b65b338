import { z } from "zod";
import { commonEnv, parseConfig, queueEnv, watcherEnv } from "../common/config.js";

export const WatcherConfigSchema = z.object({ ...commonEnv, ...queueEnv, ...watcherEnv });
export type WatcherConfig = z.infer<typeof WatcherConfigSchema>;

export const loadWatcherConfig = (source: Record<string, string | undefined>) => parseConfig(WatcherConfigSchema, source);

/** WATCH_DIRS is comma-separated; blanks are ignored. */
export const watchDirs = (value: string) =>
  value
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean);
