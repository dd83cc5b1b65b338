import { z } from "zod";
import { apiEnv, commonEnv, parseConfig, queueEnv, watcherEnv } from "../common/config.js";

/** The embedded default runs all three services, so it reads all their variables. */
export const AllInOneConfigSchema = z.object({ ...commonEnv, ...apiEnv, ...queueEnv, ...watcherEnv });
export type AllInOneConfig = z.infer<typeof AllInOneConfigSchema>;

export const loadAllInOneConfig = (source: Record<string, string | undefined>) =>
  parseConfig(AllInOneConfigSchema, source);
