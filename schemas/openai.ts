import { z } from "zod";
import type { Citation } from "./api.js";
import { isWellFormedText, notWellFormed } from "./text.js";

/**
 * The part of OpenAI's chat-completions request this service reads. Clients send many more
 * fields (temperature, top_p, user, tools...); they are accepted and ignored, since the answer is
 * grounded and verified rather than sampled. `model` names a collection (GET /v1/models).
 */
const messageText = z.string().refine(isWellFormedText, notWellFormed("messages[].content"));

export const ChatCompletionRequestSchema = z.looseObject({
  model: z
    .string({ error: "model must be a string naming a collection (GET /v1/models)" })
    .trim()
    .min(1)
    .max(128)
    .refine(isWellFormedText, notWellFormed("model")),
  messages: z
    .array(
      z.looseObject({
        role: z.enum(["system", "developer", "user", "assistant", "tool", "function"], {
          error: "messages[].role is not a chat role",
        }),
        content: z
          .union([messageText, z.array(z.looseObject({ type: z.string(), text: messageText.optional() })), z.null()])
          .optional(),
      }),
    )
    .min(1, "messages must hold at least one message")
    .max(200, "messages must hold at most 200 messages"),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  n: z.literal(1, { error: "n must be 1: there is one verified answer" }).nullable().optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;
export type ChatMessage = ChatCompletionRequest["messages"][number];

/** OpenAI's usage object: real token counts (README "OpenAI-compatible API"). */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** The assistant message with this service's additions: verified citations and whether it abstained. */
export interface ChatMessageOut {
  role: "assistant";
  content: string;
  refusal: null;
  citations: Citation[];
  abstained: boolean;
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{ index: 0; message: ChatMessageOut; finish_reason: "stop"; logprobs: null }>;
  usage: ChatUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: 0;
    delta: { role?: "assistant"; content?: string; citations?: Citation[]; abstained?: boolean };
    finish_reason: "stop" | null;
    logprobs: null;
  }>;
  usage?: ChatUsage | null;
  citations?: Citation[];
}

/** OpenAI's error body, which the SDKs parse into their error classes. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; code: string; param: string | null; request_id?: string };
}
