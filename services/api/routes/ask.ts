import { Hono } from "hono";
import { answerQuestion } from "../../../pipelines/answer/ask.js";
import { embedderKey } from "../../../pipelines/embed/types.js";
import { defaultDenseWeight } from "../../../pipelines/retrieve/hybrid.js";
import { askRequestSchema } from "../../../schemas/api.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";

/** POST /ask: retrieve, pack within the token budget, generate with citations, log the query. */
export const askRoute = new Hono<AppEnv>().post("/", async (c) => {
  const { config, core, generator, log } = c.var.deps;
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new ApiError("invalid_request", "Send the request body as JSON with Content-Type: application/json.");
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new ApiError("invalid_request", "The request body is not valid JSON.");
  }
  const parsed = askRequestSchema(config.MAX_QUESTION_CHARS).safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new ApiError("invalid_request", issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; "), issues);
  }
  const req = parsed.data;
  if (req.stream) {
    throw new ApiError("invalid_request", "stream: true is not supported by this version; omit it for a JSON answer.");
  }
  if (!core) throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  if (core.mismatch) {
    throw new ApiError(
      "embedding_model_mismatch",
      `The index was built with ${embedderKey(core.mismatch.indexed)} but this process embeds with ` +
        `${embedderKey(core.mismatch.current)}. Set EMBEDDING_MODEL back, or rebuild the index for the new model.`,
      { indexed: core.mismatch.indexed, current: core.mismatch.current },
    );
  }
  const response = await answerQuestion(
    {
      store: core.store,
      embedder: core.embedder,
      generator,
      tokenizer: core.tokenizer,
      generationId: core.generation.id,
      denseWeight: config.DENSE_WEIGHT ?? defaultDenseWeight(core.embedder.identity.provider),
    },
    {
      question: req.question,
      collections: req.collection ? [req.collection] : undefined,
      topK: req.topK ?? config.DEFAULT_TOP_K,
      maxContextTokens: req.maxContextTokens,
    },
  );
  try {
    await core.catalog.logQuery({
      id: response.queryId,
      requestId: c.var.requestId,
      question: req.question,
      collection: req.collection ?? null,
      generationId: core.generation.id,
      answer: response.answer,
      abstained: response.abstained,
      citations: response.citations,
      verification: response.verification,
      usage: response.usage,
      timings: response.timings,
    });
  } catch (err) {
    // The answer is still right; a lost log row must not fail the user's request.
    log.error("query log write failed", { requestId: c.var.requestId, err });
  }
  return c.json(response);
});
