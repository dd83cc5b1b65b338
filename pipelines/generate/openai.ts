import { FinalAttemptError, postJson, postRaw, withRetry, type RetryPolicy } from "../http/retry.js";
import { ABSTAIN_MESSAGE, citedSentences, isAbstention } from "./answer-text.js";
import { answerPrompt, buildMessages, chatPromptTokens, renderSource } from "./prompt.js";
import type { VersionedPrompt } from "../prompts/registry.js";
import { sseData } from "./sse.js";
import type { GeneratorTokenizer } from "./tokens.js";
import type { GeneratedAnswer, Generator } from "./types.js";

export interface OpenAiGeneratorOptions {
  /** Base URL up to and including `/v1`, e.g. http://localhost:11434/v1 for Ollama. */
  baseUrl: string;
  model: string;
  apiKey?: string | undefined;
  contextWindow: number;
  maxAnswerTokens: number;
  retry: RetryPolicy;
  tokenizer: GeneratorTokenizer;
  /** The system prompt (prompts/answer/<version>.md); answer/v1 when unset. */
  prompt?: VersionedPrompt | undefined;
}

interface Completion {
  choices?: Array<{ message?: { content?: string | null }; delta?: { content?: string | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  error?: { message?: string };
}

// Reasoning models refuse `temperature` and `max_tokens`; they take `max_completion_tokens`.
const isReasoningModel = (model: string) => /^(o1|o3|o4|gpt-5)/i.test(model);

/**
 * One model behind any OpenAI-compatible `/v1/chat/completions` (OpenAI, vLLM, Ollama, LiteLLM,
 * llama.cpp's server). Streams when the caller takes deltas. Fallbacks are `withFallbacks`' job.
 */
export function createOpenAiGenerator(opts: OpenAiGeneratorOptions): Generator {
  const url = `${opts.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const headers: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
  const limits = isReasoningModel(opts.model)
    ? { max_completion_tokens: opts.maxAnswerTokens }
    : { max_tokens: opts.maxAnswerTokens, temperature: 0 };
  const prompt = opts.prompt ?? answerPrompt();

  return {
    name: "openai",
    model: opts.model,
    promptVersion: prompt.id,
    contextWindow: opts.contextWindow,
    answerReserve: opts.maxAnswerTokens,
    tokenizer: opts.tokenizer,
    promptTokens: (question) => chatPromptTokens(opts.tokenizer, question, prompt.text),
    renderSource,
    async generate({ question, sources, onDelta, signal }): Promise<GeneratedAnswer> {
      const body = {
        model: opts.model,
        messages: buildMessages(question, sources.map(renderSource), prompt.text),
        ...limits,
      };
      if (!onDelta) {
        const res = await postJson<Completion>(url, body, headers, opts.retry, undefined, signal);
        const text = res.choices?.[0]?.message?.content;
        if (typeof text !== "string") {
          throw new Error(`${url} returned no message content for model ${opts.model}.`);
        }
        return toAnswer(text, opts.model, res.usage);
      }
      return withRetry(
        url,
        opts.retry,
        async (attempt) => {
          const res = await postRaw(url, { ...body, stream: true }, headers, attempt.signal);
          let text = "";
          let usage: Completion["usage"];
          try {
            for await (const data of sseData(res.body!, attempt.touch)) {
              if (data.trim() === "[DONE]") {
                break;
              }
              const chunk = JSON.parse(data) as Completion;
              if (chunk.error) {
                throw new Error(`${url} failed mid-stream: ${chunk.error.message ?? "unknown error"}`);
              }
              usage = chunk.usage ?? usage;
              const delta = chunk.choices?.[0]?.delta?.content;
              if (delta) {
                text += delta;
                onDelta(delta);
              }
            }
          } catch (err) {
            // Text already went to the client: repeating the call would send it twice.
            if (text) {
              throw new FinalAttemptError(
                `${url} stream broke after ${text.length} characters: ${(err as Error).message}`,
                { cause: err },
              );
            }
            throw err;
          }
          return toAnswer(text, opts.model, usage);
        },
        { signal },
      );
    },
  };
}

/** Parses a model's answer into cited sentences; the abstention phrase alone is an abstention. */
export function toAnswer(raw: string, model: string, usage?: Completion["usage"]): GeneratedAnswer {
  const text = raw.trim();
  const sentences = citedSentences(text);
  const abstained = sentences.length === 0 || sentences.every((s) => isAbstention(s.text));
  return {
    text: abstained ? ABSTAIN_MESSAGE : text,
    abstained,
    cited: abstained ? [] : [...new Set(sentences.flatMap((s) => s.cites))],
    sentences: abstained ? [] : sentences,
    model,
    fallbacks: [],
    promptTokens: usage?.prompt_tokens,
    completionTokens: usage?.completion_tokens,
  };
}
