import { OPENAI_BASE_URL, type GeneratorSettings } from "../generate/index.js";
import { createLlmRewriter } from "./llm-rewrite.js";
import { createTermsRewriter } from "./rewrite.js";
import type { QuestionRewriter } from "./types.js";

export type { QuestionRewriter, Rewrite, Turn } from "./types.js";
export { createTermsRewriter } from "./rewrite.js";

/**
 * The follow-up rewriter: the chat model when GENERATOR=openai (the model that answers also
 * resolves references), else the deterministic rewrite that carries the earlier subject.
 */
export function createRewriter(
  settings: GeneratorSettings & { MAX_QUESTION_CHARS: number },
  onError?: (err: unknown) => void,
): QuestionRewriter {
  if (settings.GENERATOR !== "openai") {
    return createTermsRewriter();
  }
  return createLlmRewriter({
    baseUrl: settings.LLM_BASE_URL ?? OPENAI_BASE_URL,
    model: settings.LLM_MODEL ?? "gpt-4o-mini",
    apiKey: settings.LLM_API_KEY,
    // The user waits for this before retrieval starts: fewer, shorter attempts than the answer's own.
    retry: {
      attempts: Math.min(2, settings.LLM_MAX_ATTEMPTS ?? 2),
      baseDelayMs: 250,
      maxDelayMs: 2_000,
      timeoutMs: Math.min(settings.LLM_TIMEOUT_MS ?? 15_000, 15_000),
    },
    maxChars: settings.MAX_QUESTION_CHARS,
    onError,
  });
}
