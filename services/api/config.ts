import { z } from "zod";
import { apiEnv, commonEnv, parseConfig, queueEnv } from "../common/config.js";

/** REDIS_URL only lets /status and /metrics read the ingestion queue's depth and workers. */
export const ApiConfigSchema = z.object({
  ...commonEnv,
  ...apiEnv,
  REDIS_URL: queueEnv.REDIS_URL,
  QUEUE_PREFIX: queueEnv.QUEUE_PREFIX,
});
export type ApiServiceConfig = z.infer<typeof ApiConfigSchema>;

export const loadApiConfig = (source: Record<string, string | undefined>) => parseConfig(ApiConfigSchema, source);
