import { z } from "zod";
import { parsePrices, readPriceFile, type ModelPrice } from "../../pipelines/cost/prices.js";

// Repeated from config.ts rather than imported: config.ts spreads these variables into apiEnv, and
// an import cycle would read them before they exist.
const unsetIfEmpty = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const env = <T extends z.ZodType>(schema: T) => z.preprocess(unsetIfEmpty, schema);
const flag = z
  .enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");
function tryPrices(ctx: z.RefinementCtx, read: () => Record<string, ModelPrice> | undefined) {
  try {
    return read();
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
}
const version = z.string().regex(/^[\w.-]{1,40}$/, "must name a file in prompts/<kind>/ without .md, e.g. v1");

/**
 * The gateway layer's variables (issue 18, README "Gateway"): answer cache, prices and budgets,
 * prompt versions, context compression. Part of apiEnv.
 */
export const gatewayEnv = {
  /** prompts/answer/<version>.md for the OpenAI-compatible and llama.cpp generators. */
  PROMPT_VERSION: env(version.default("v1")),
  /** prompts/judge/<version>.md for METRICS_JUDGE=llm. */
  JUDGE_PROMPT_VERSION: env(version.default("v1")),
  /** The answer cache (bench/cache.ts measured no false and no stale hit at the defaults: exact questions). */
  ANSWER_CACHE: env(flag.default(true)),
  /**
   * Cosine similarity a differently worded question must reach (then the lexical guard and a
   * retrieval check); 1, the default, serves exact questions only: at 0.9 npm run bench:cache found
   * 1 false hit in 34 hits (paraphrases are 0.85-0.97 from their originals, near misses up to 0.99).
   */
  ANSWER_CACHE_MIN_SIMILARITY: env(z.coerce.number().min(0.5).max(1).default(1)),
  ANSWER_CACHE_TTL_SECONDS: env(
    z.coerce
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .default(86_400),
  ),
  /** Entries kept (least recently used dropped first), shared by every API process. */
  ANSWER_CACHE_MAX_ENTRIES: env(z.coerce.number().int().min(1).max(10_000_000).default(10_000)),
  /** A JSON file of prices ({"<model>": {"input": usd per 1M tokens, "output": ...}}) over the defaults; read once, here. */
  PRICES_FILE: env(
    z
      .string()
      .optional()
      .transform((path, ctx) => tryPrices(ctx, () => (path === undefined ? undefined : readPriceFile(path)))),
  ),
  /** The same JSON inline; applied after PRICES_FILE. */
  PRICES_JSON: env(
    z
      .string()
      .optional()
      .transform((json, ctx) =>
        tryPrices(ctx, () => (json === undefined ? undefined : parsePrices(JSON.parse(json), "PRICES_JSON"))),
      ),
  ),
  /** Daily tokens (input + output) a key may spend; per-key budgets (npm run keys -- budget) override. Unset: none. */
  BUDGET_DAILY_TOKENS: env(z.coerce.number().int().min(0).optional()),
  /** Daily USD a key may spend, priced by the table. Unset: none. */
  BUDGET_DAILY_USD: env(z.coerce.number().min(0).optional()),
  /** Keep this share of the packed context's tokens, dropping the sentences with least evidence (1: off). */
  COMPRESS_RATIO: env(z.coerce.number().gt(0).max(1).default(1)),
};

/**
 * The gateway's settings as ApiConfig carries them (services/common/gateway-config.ts parses them
 * from the environment). An ApiConfig built in code without them (tests, benchmarks) gets no
 * cache, no budgets and no compression: each is asked for explicitly.
 */
export interface GatewaySettings {
  ANSWER_CACHE?: boolean | undefined;
  ANSWER_CACHE_MIN_SIMILARITY?: number | undefined;
  ANSWER_CACHE_TTL_SECONDS?: number | undefined;
  ANSWER_CACHE_MAX_ENTRIES?: number | undefined;
  PRICES_FILE?: Record<string, ModelPrice> | undefined;
  PRICES_JSON?: Record<string, ModelPrice> | undefined;
  BUDGET_DAILY_TOKENS?: number | undefined;
  BUDGET_DAILY_USD?: number | undefined;
  COMPRESS_RATIO?: number | undefined;
}
