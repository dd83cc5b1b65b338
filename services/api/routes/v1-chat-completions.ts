import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { ChatCompletionRequestSchema } from "../../../schemas/openai.js";
import { requireKnownCollection } from "../collections.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";
import { askThroughRoute } from "../internal-ask.js";
import { chatUsage, questionAndHistory, toChatChunks, toChatCompletion } from "../openai-shape.js";
import { parseJsonBody } from "../query.js";
import { scopeOf } from "../tenant.js";

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
export const chatCompletionsRoute = new Hono<AppEnv>().post("/", async (c) => {
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
});
