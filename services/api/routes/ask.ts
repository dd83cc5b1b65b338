import type { Context } from "hono";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { answerQuestion, type AnswerDeps, type AnswerInput } from "../../../pipelines/answer/ask.js";
import { embedderKey } from "../../../pipelines/embed/types.js";
import { createLexicalReranker } from "../../../pipelines/rerank/lexical.js";
import { defaultDenseWeight } from "../../../pipelines/retrieve/hybrid.js";
import { askRequestSchema, type AskRequest, type AskResponse } from "../../../schemas/api.js";
import type { Metrics } from "../../common/metrics.js";
import type { AppEnv } from "../context.js";
import { ApiError, onError } from "../errors.js";
import { parseJsonBody } from "../query.js";

const defaultReranker = createLexicalReranker();

/**
 * POST /ask: retrieve, re-rank, pack within the token budget, generate with citations, verify,
 * log the query. JSON by default; server-sent events with `stream: true` or
 * `Accept: text/event-stream` (events: retrieval, delta, citations, verification, done, error).
 */
export const askRoute = new Hono<AppEnv>().post("/", async (c) => {
  const { config, core, generator, reranker, log, metrics } = c.var.deps;
  const started = performance.now();
  const req = await parseRequest(c);
  // An explicit `stream: false` wins over the Accept header.
  const streaming = req.stream ?? (c.req.header("accept") ?? "").toLowerCase().includes("text/event-stream");
  if (!core) throw new ApiError("index_not_ready", "The service is still starting; retry when /readyz says ready.");
  // Follow a re-index switch; everything below reads the generation and embedder once.
  await core.refresh();
  if (core.mismatch) {
    throw new ApiError(
      "embedding_model_mismatch",
      `The index was built with ${embedderKey(core.mismatch.indexed)} but this process embeds with ` +
        `${embedderKey(core.mismatch.current)}. Set EMBEDDING_MODEL back to the indexed model, or rebuild the index ` +
        "for the new one with `npm run reindex` (service stopped, or with DATABASE_URL) or POST /admin/reindex.",
      { indexed: core.mismatch.indexed, current: core.mismatch.current },
    );
  }
  const deps: AnswerDeps = {
    store: core.store,
    embedder: core.embedder,
    generator,
    reranker: reranker ?? defaultReranker,
    generationId: core.generation.id,
    denseWeight: config.DENSE_WEIGHT ?? defaultDenseWeight(core.embedder.identity.provider),
    verify: { mode: config.VERIFY_MODE ?? "remove", minSupportedShare: config.VERIFY_MIN_SUPPORTED ?? 0.5 },
  };
  const input: AnswerInput = {
    question: req.question,
    collections: req.collection ? [req.collection] : undefined,
    topK: req.topK ?? config.DEFAULT_TOP_K,
    maxContextTokens: req.maxContextTokens,
  };
  const record = async (response: AskResponse) => {
    observeAnswer(metrics, response, streaming, (performance.now() - started) / 1000);
    try {
      await core.catalog.logQuery({
        id: response.queryId,
        requestId: c.var.requestId,
        question: req.question,
        collection: req.collection ?? null,
        generationId: response.generation,
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
  };
  if (!streaming) {
    const response = await answerQuestion(deps, input);
    await record(response);
    return c.json(response);
  }
  return streamAnswer(c, deps, input, record);
});

/** Latency to the complete answer (streamed or not), tokens, abstentions, verifier removals. */
function observeAnswer(metrics: Metrics | undefined, r: AskResponse, streaming: boolean, seconds: number) {
  if (!metrics) return;
  metrics.askDuration.observe({ mode: streaming ? "stream" : "json" }, seconds);
  metrics.askTokens.inc({ kind: "context" }, r.usage.contextTokens);
  metrics.askTokens.inc({ kind: "answer" }, r.usage.answerTokens);
  metrics.askAnswers.inc({ abstained: String(r.abstained) });
  metrics.verifierRemovals.inc({ kind: "sentence" }, r.verification.removed);
  metrics.verifierRemovals.inc({ kind: "flagged_sentence" }, r.verification.flagged);
  // citationsNotGiven is a subset of citationsRemoved, so it is not added again.
  metrics.verifierRemovals.inc({ kind: "citation" }, r.verification.citationsRemoved);
}

/**
 * Streams the answer. Deltas are the model's raw text as it writes it; verification needs the
 * whole answer, so `done` carries the verified answer, which replaces what the deltas showed.
 * Errors before the stream starts are ordinary JSON errors; after, an `error` event in the same shape.
 */
function streamAnswer(c: Context<AppEnv>, deps: AnswerDeps, input: AnswerInput, record: (r: AskResponse) => Promise<void>) {
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => abort.abort(new Error("client went away")));
    const send = (event: string, data: unknown) => stream.writeSSE({ event, data: JSON.stringify(data) });
    try {
      const response = await answerQuestion(deps, input, {
        onSources: (sources) => send("retrieval", { sources }),
        onDelta: (text) => void send("delta", { text }),
        onRestart: (reason) => void send("delta", { text: "", restart: true, reason }),
        signal: abort.signal,
      });
      await send("citations", { citations: response.citations });
      await send("verification", response.verification);
      await record(response);
      await send("done", response);
    } catch (err) {
      if (abort.signal.aborted) return;
      // The one error mapping (codes, no internals, logging) is the app's; reuse its body.
      const res = await onError(c.var.deps.log)(err instanceof Error ? err : new Error(String(err)), c);
      await send("error", await res.json());
    }
  });
}

function parseRequest(c: Context<AppEnv>): Promise<AskRequest> {
  return parseJsonBody(c, askRequestSchema(c.var.deps.config.MAX_QUESTION_CHARS));
}
