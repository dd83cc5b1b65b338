import { z } from "zod";
import { apiEnv, commonEnv, env, parseConfig, queueEnv, watcherEnv } from "../common/config.js";

/**
 * `npm run mcp` (stdio) reads what the all-in-one process reads, plus who it acts for and whether
 * it indexes the watched folders itself.
 */
export const McpConfigSchema = z.object({
  ...commonEnv,
  ...apiEnv,
  ...queueEnv,
  ...watcherEnv,
  /** The API key the stdio server acts as (its scopes and collections); needed once authentication is on. */
  MCP_API_KEY: env(z.string().min(16).max(256).optional()),
  /**
   * Run the watcher and worker in this process: `auto` does with the embedded PGlite (no other
   * process can write its DATA_DIR) and does not with DATABASE_URL (the service's workers do).
   */
  MCP_WATCH: env(z.enum(["auto", "true", "false"]).default("auto")),
});
export type McpConfig = z.infer<typeof McpConfigSchema>;

export const loadMcpConfig = (source: Record<string, string | undefined>) => parseConfig(McpConfigSchema, source);
