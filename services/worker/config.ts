import { z } from "zod";
import { commonEnv, parseConfig, queueEnv } from "../common/config.js";

export const WorkerConfigSchema = z.object({ ...commonEnv, ...queueEnv });
export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;

export const loadWorkerConfig = (source: Record<string, string | undefined>) => parseConfig(WorkerConfigSchema, source);
