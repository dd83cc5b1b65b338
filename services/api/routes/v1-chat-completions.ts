import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { streamSSE } from "hono/streaming";
import { ChatCompletionRequestSchema } from "../../../schemas/openai.js";
import { requireKnownCollection } from "../collections.js";
import { BODY_ERRORS, defineRoute, errors, GUARDED_ERRORS, named, type RouteHandler } from "../contract.js";
import { EXAMPLE_QUERY_ID, exampleAskResponse, exampleCitation } from "../examples.js";
import { CitationSchema } from "../../../schemas/api.js";
import { ApiError } from "../errors.js";
import { askThroughRoute } from "../internal-ask.js";
import { chatUsage, questionAndHistory, toChatChunks, toChatCompletion } from "../openai-shape.js";
import { parseJsonBody } from "../query.js";
import { scopeOf } from "../tenant.js";

const UsageSchema = z.object({ prompt_tokens: z.int(), completion_tokens: z.int(), total_tokens: z.int() });

const ChatCompletionSchema = z
  .object({
    id: z.string().describe("The answer's queryId."),
    object: z.literal("chat.completion"),
    created: z.int(),
    model: z.string(),
    system_fingerprint: z.string(),
    choices: z.array(
      z.object({
        index: z.literal(0),
        message: z.object({
          role: z.literal("assistant"),
          content: z.string(),
          refusal: z.null(),
          citations: z.array(CitationSchema),
          abstained: z.boolean(),
        }),
        finish_reason: z.literal("stop"),
        logprobs: z.null(),
      }),
    ),
    usage: UsageSchema,
  })
  .openapi("ChatCompletion");

const exampleCompletion = {
  id: EXAMPLE_QUERY_ID,
  object: "chat.completion" as const,
  created: 1769850000,
  model: "default",
  system_fingerprint: "rag-service",
  choices: [
    {
      index: 0 as const,
      message: {
        role: "assistant" as const,
        content: exampleAskResponse.answer,
        refusal: null,
        citations: [exampleCitation],
        abstained: false,
      },
      finish_reason: "stop" as const,
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 420, completion_tokens: 14, total_tokens: 434 },
};

const route = createRoute({
  method: "post",
  path: "/",
  summary: "OpenAI chat completions: model = a collection; /ask's verified answer with choices[0].message.citations",
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: named("ChatCompletionRequest", ChatCompletionRequestSchema) } },
    },
  },
  responses: {
    200: {
      description:
        "chat.completion (id = queryId, usage), or with stream: true chat.completion.chunk events ending " +
        "`data: [DONE]`; the final chunk carries the citations.",
      content: {
        "application/json": { schema: ChatCompletionSchema, example: exampleCompletion },
        "text/event-stream": {
          schema: z.string(),
          example:
            'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"..."}}]}\n\ndata: [DONE]\n\n',
        },
      },
    },
    // Under /v1 every error comes in OpenAI's shape (services/api/openai-errors.ts).
    ...errors(
      {
        invalid_request:
          "the last message is not the user's, non-text content, n other than 1, a bad question; code invalid_request",
        not_found: "code model_not_found: the model is not a collection this key may read",
        embedding_model_mismatch: "the index was built by another embedder",
        budget_exceeded: "the key has spent its day's budget (type insufficient_quota)",
        index_not_ready: "the service is still starting",
        overloaded: "MAX_ANSWERS_IN_FLIGHT answers are in the making; Retry-After says when to retry",
        service_unavailable: "a dependency cannot be reached; Retry-After says when to retry",
        ...BODY_ERRORS,
        ...GUARDED_ERRORS,
      },
      "openai",
    ),
  },
});

/**
 * POST /v1/chat/completions: OpenAI's chat completions over this service's answer path. `model`
 * names a collection; the last message is the question and the earlier user and assistant turns
 * its history (a follow-up is rewritten into a standalone question). The answer is /ask's own
 * (retrieval, generation, verification, query log), with its verified citations on the message.
 *
 * With `stream: true` the chunks carry the verified answer, so they start once verification is
 * done: OpenAI's stream cannot take back text, and streaming the model's raw output would show
 * sentences the verifier then removes (/ask's own stream does that, with `done` correcting it).
 * Errors before the answer (a bad key, an unknown model, a rate limit) keep their HTTP status.
 */
const chatCompletion: RouteHandler = async (c) => {
  const req = await parseJsonBody(c, ChatCompletionRequestSchema);
  const { deps } = c.var;
  if (!deps.core) {
    throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  }
  await requireKnownCollection(deps.core, scopeOf(c), req.model, {
    what: "model (collection)",
    details: { openai: { code: "model_not_found", param: "model" } },
  });
  const { question, history } = questionAndHistory(req.messages);
  const asker = { principal: c.var.principal, requestId: c.var.requestId, log: c.var.log };
  const answer = await askThroughRoute(deps, asker, { question, collection: req.model, history }, c.req.raw.signal);
  const usage = chatUsage(answer, deps.generator.promptTokens(answer.conversation?.rewrittenQuestion ?? question));
  if (!req.stream) {
    return c.json(toChatCompletion(answer, req.model, usage));
  }
  const chunks = toChatChunks(answer, req.model, usage, req.stream_options?.include_usage === true);
  return streamSSE(c, async (stream) => {
    for (const chunk of chunks) {
      await stream.writeSSE({ data: JSON.stringify(chunk) });
    }
    await stream.writeSSE({ data: "[DONE]" });
  });
};

export const chatCompletionsRoute = defineRoute(route, chatCompletion);
