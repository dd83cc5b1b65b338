import type { Turn } from "../../pipelines/conversation/types.js";
import type { AskResponse } from "../../schemas/api.js";
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, ChatUsage } from "../../schemas/openai.js";
import { ApiError } from "./errors.js";

/** Text of a message: a string, or the text parts of a content array (images are refused). */
function textOf(m: ChatMessage, i: number): string {
  if (typeof m.content === "string") {
    return m.content;
  }
  if (!m.content) {
    return "";
  }
  const other = m.content.find((p) => p.type !== "text");
  if (other) {
    throw new ApiError(
      "invalid_request",
      `messages.${i}.content: only text parts are read, not ${JSON.stringify(other.type)}.`,
    );
  }
  return m.content.map((p) => p.text ?? "").join("");
}

/**
 * The question (the last message, which must be the user's) and the conversation before it.
 * System and developer messages are not passed on: the answer's instructions are the service's
 * grounding prompt, and a client's persona prompt must not loosen them. Tool turns carry no question.
 */
export function questionAndHistory(messages: readonly ChatMessage[]): { question: string; history: Turn[] } {
  const last = messages.length - 1;
  const final = messages[last]!;
  if (final.role !== "user") {
    throw new ApiError(
      "invalid_request",
      `messages.${last}.role: the last message must be the user's question, not ${final.role}.`,
    );
  }
  const history: Turn[] = [];
  messages.slice(0, last).forEach((m, i) => {
    if (m.role === "user" || m.role === "assistant") {
      const content = textOf(m, i);
      if (content.trim()) {
        history.push({ role: m.role, content });
      }
    }
  });
  return { question: textOf(final, last), history };
}

/**
 * Real token counts: the model API's own when it reported them; otherwise (the extractive
 * generator) what the generator read, the packed sources plus the question as its tokenizer
 * counts them, and the answer it returned.
 */
export function chatUsage(r: AskResponse, questionTokens: number): ChatUsage {
  const prompt = r.usage.promptTokens ?? r.usage.contextTokens + questionTokens;
  const completion = r.usage.completionTokens ?? r.usage.answerTokens;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

const created = () => Math.floor(Date.now() / 1000);
const fingerprint = (r: AskResponse) => `rag-generation-${r.generation}`;

/** A whole answer in OpenAI's shape; `id` is the queryId, so POST /feedback can rate it. */
export function toChatCompletion(r: AskResponse, model: string, usage: ChatUsage): ChatCompletion {
  return {
    id: r.queryId,
    object: "chat.completion",
    created: created(),
    model,
    system_fingerprint: fingerprint(r),
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: r.answer,
          refusal: null,
          citations: r.citations,
          abstained: r.abstained,
        },
        finish_reason: "stop",
        logprobs: null,
      },
    ],
    usage,
  };
}

// Words per content chunk: small enough to render progressively, few enough to stay cheap.
const WORDS_PER_CHUNK = 8;

/**
 * The verified answer as a chat.completion.chunk stream: the role, the text in word groups whose
 * concatenation is exactly the answer, a final chunk with finish_reason and the citations (on
 * the delta, as on the message, and at the top level for gateways that keep only those), then a
 * usage chunk when the client asked for one (stream_options.include_usage), as OpenAI sends it.
 */
export function toChatChunks(
  r: AskResponse,
  model: string,
  usage: ChatUsage,
  includeUsage: boolean,
): ChatCompletionChunk[] {
  const base = {
    id: r.queryId,
    object: "chat.completion.chunk" as const,
    created: created(),
    model,
    system_fingerprint: fingerprint(r),
  };
  const chunk = (
    delta: ChatCompletionChunk["choices"][number]["delta"],
    finish: "stop" | null = null,
  ): ChatCompletionChunk => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const words = r.answer.match(/\s*\S+\s*/g) ?? [];
  const out = [chunk({ role: "assistant", content: "" })];
  for (let i = 0; i < words.length; i += WORDS_PER_CHUNK) {
    out.push(chunk({ content: words.slice(i, i + WORDS_PER_CHUNK).join("") }));
  }
  out.push({ ...chunk({ citations: r.citations, abstained: r.abstained }, "stop"), citations: r.citations });
  if (includeUsage) {
    out.push({ ...base, choices: [], usage });
  }
  return out;
}
