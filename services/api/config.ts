import { z } from "zod";
import { apiEnv, commonEnv, parseConfig } from "../common/config.js";

export const ApiConfigSchema = z.object({ ...commonEnv, ...apiEnv });
export type ApiServiceConfig = z.infer<typeof ApiConfigSchema>;

export const loadApiConfig = (source: Record<string, string | undefined>) => parseConfig(ApiConfigSchema, source);
