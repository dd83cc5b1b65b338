import { createExtractiveGenerator } from "./extractive.js";
import { withFallbacks, type FallbackStep } from "./fallback.js";
import { createLlamaCppGenerator } from "./llamacpp.js";
import { createOpenAiGenerator } from "./openai.js";
import { answerPrompt } from "./prompt.js";
import { tokenizerForModel } from "./tokens.js";
import type { Generator } from "./types.js";

export type { Generator } from "./types.js";

/** The generator's settings, named as the environment names them (services/common/config.ts). */
export interface GeneratorSettings {
  /** `extractive`, `openai` or `llamacpp:<gguf file>`. */
  GENERATOR: string;
  LLM_BASE_URL?: string | undefined;
  LLM_MODEL?: string | undefined;
  LLM_API_KEY?: string | undefined;
  LLM_FALLBACK_MODEL?: string | undefined;
  LLM_CONTEXT_WINDOW?: number | undefined;
  LLM_MAX_ANSWER_TOKENS?: number | undefined;
  LLM_TIMEOUT_MS?: number | undefined;
  LLM_MAX_ATTEMPTS?: number | undefined;
  /** The answer prompt's version (prompts/answer/<version>.md); v1 when unset. */
  PROMPT_VERSION?: string | undefined;
}

export const OPENAI_BASE_URL = "https://api.openai.com/v1";

/**
 * Builds the generator named by `GENERATOR`. `openai` falls back to LLM_FALLBACK_MODEL and then to
 * the extractive generator when the API fails; `onFallback` hears each failure (for the log).
 * Heavy providers load lazily; a missing one says what to install.
 */
export async function createGenerator(
  settings: GeneratorSettings,
  hooks: { onFallback?: (model: string, err: unknown) => void } = {},
): Promise<Generator> {
  const spec = settings.GENERATOR;
  const contextWindow = settings.LLM_CONTEXT_WINDOW ?? 8192;
  const maxAnswerTokens = settings.LLM_MAX_ANSWER_TOKENS ?? 512;
  if (spec === "extractive") {
    return createExtractiveGenerator();
  }
  // Loaded now, so an unknown PROMPT_VERSION stops start-up with the versions there are.
  const prompt = answerPrompt(settings.PROMPT_VERSION);
  // The sources need room too: a window the answer reserve nearly fills would answer from nothing.
  if (contextWindow - maxAnswerTokens < 1024) {
    throw new Error(
      `LLM_CONTEXT_WINDOW (${contextWindow}) leaves under 1024 tokens for the prompt and sources after ` +
        `LLM_MAX_ANSWER_TOKENS (${maxAnswerTokens}); raise the window or lower the answer reserve.`,
    );
  }
  if (spec.startsWith("llamacpp:")) {
    return createLlamaCppGenerator({
      modelPath: spec.slice("llamacpp:".length),
      contextWindow,
      maxAnswerTokens,
      prompt,
    });
  }
  if (spec !== "openai") {
    throw new Error(`GENERATOR=${spec} is unknown; use extractive, openai or llamacpp:<gguf file>.`);
  }
  const baseUrl = settings.LLM_BASE_URL ?? OPENAI_BASE_URL;
  if (baseUrl === OPENAI_BASE_URL && !settings.LLM_API_KEY) {
    throw new Error(
      "LLM_API_KEY: required for GENERATOR=openai against api.openai.com; or set LLM_BASE_URL to your " +
        "OpenAI-compatible server (vLLM, Ollama, LiteLLM, llama.cpp server).",
    );
  }
  const model = settings.LLM_MODEL ?? "gpt-4o-mini";
  const retry = {
    attempts: settings.LLM_MAX_ATTEMPTS ?? 3,
    baseDelayMs: 500,
    maxDelayMs: 8_000,
    timeoutMs: settings.LLM_TIMEOUT_MS ?? 60_000,
  };
  const chat = async (name: string): Promise<FallbackStep> => ({
    label: name,
    generator: createOpenAiGenerator({
      baseUrl,
      model: name,
      apiKey: settings.LLM_API_KEY,
      contextWindow,
      maxAnswerTokens,
      retry,
      tokenizer: await tokenizerForModel(name),
      prompt,
    }),
  });
  const steps = [await chat(model)];
  if (settings.LLM_FALLBACK_MODEL && settings.LLM_FALLBACK_MODEL !== model) {
    steps.push(await chat(settings.LLM_FALLBACK_MODEL));
  }
  steps.push({ label: "extractive", generator: createExtractiveGenerator() });
  return withFallbacks(steps, hooks.onFallback);
}
