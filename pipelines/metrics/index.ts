import { OPENAI_BASE_URL } from "../generate/index.js";
import { createLlmJudge } from "./llm-judge.js";
import type { LlmJudge } from "./types.js";

export { computeQueryMetrics, claimsOf, DEFAULT_METHOD } from "./compute.js";
export type { LlmJudge, LlmJudgement, MetricsInput, MetricsOptions, QueryMetrics } from "./types.js";

/** The judge's settings, named as the environment names them (services/common/config.ts). */
export interface MetricsJudgeSettings {
  /** `embedding` (default), `lexical` (words alone) or `llm`. */
  METRICS_JUDGE?: string | undefined;
  METRICS_JUDGE_MODEL?: string | undefined;
  LLM_BASE_URL?: string | undefined;
  LLM_API_KEY?: string | undefined;
  LLM_MODEL?: string | undefined;
  LLM_TIMEOUT_MS?: number | undefined;
  LLM_MAX_ATTEMPTS?: number | undefined;
  /** The judge prompt's version (prompts/judge/<version>.md); v1 when unset. */
  JUDGE_PROMPT_VERSION?: string | undefined;
}

/**
 * The LLM judge named by `METRICS_JUDGE=llm`, on the chat API the generator's LLM_* variables
 * describe (its own model with METRICS_JUDGE_MODEL); undefined for the other methods. Like the
 * generator, it needs LLM_BASE_URL or, against api.openai.com, LLM_API_KEY.
 */
export function createMetricsJudge(settings: MetricsJudgeSettings): LlmJudge | undefined {
  const method = settings.METRICS_JUDGE ?? "embedding";
  if (method === "embedding" || method === "lexical") {
    return undefined;
  }
  if (method !== "llm") {
    throw new Error(`METRICS_JUDGE=${method} is unknown; use embedding, lexical or llm.`);
  }
  const baseUrl = settings.LLM_BASE_URL ?? OPENAI_BASE_URL;
  if (baseUrl === OPENAI_BASE_URL && !settings.LLM_API_KEY) {
    throw new Error(
      "METRICS_JUDGE=llm needs a chat API: set LLM_BASE_URL to your OpenAI-compatible server (vLLM, Ollama, LiteLLM), " +
        "or LLM_API_KEY for api.openai.com.",
    );
  }
  return createLlmJudge({
    baseUrl,
    model: settings.METRICS_JUDGE_MODEL ?? settings.LLM_MODEL ?? "gpt-4o-mini",
    apiKey: settings.LLM_API_KEY,
    promptVersion: settings.JUDGE_PROMPT_VERSION,
    // A grade is not worth a user's wait: fewer, shorter attempts than the answer's own.
    retry: {
      attempts: Math.min(2, settings.LLM_MAX_ATTEMPTS ?? 2),
      baseDelayMs: 250,
      maxDelayMs: 2_000,
      timeoutMs: settings.LLM_TIMEOUT_MS ?? 60_000,
    },
  });
}
