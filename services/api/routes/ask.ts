import type { Context } from "hono";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { AnswerDeps, AnswerEvents, AnswerInput } from "../../../pipelines/answer/ask.js";
import { embedderKey } from "../../../pipelines/embed/types.js";
import { QUALITY_METRIC_NAMES } from "../../../pipelines/store/quality-queries.js";
import { askRequestSchema, type AskRequest, type AskResponse, type QueryMetrics } from "../../../schemas/api.js";
import { answerDepsOf } from "../../common/answer-deps.js";
import { deferMetrics } from "../metrics-queue.js";
import { admitAnswer } from "../admission.js";
import type { Metrics } from "../../common/metrics.js";
import type { AppEnv } from "../context.js";
import { requireCore } from "../require-core.js";
import { ApiError, onError } from "../errors.js";
import { gatewayFor } from "../gateway.js";
import { parseJsonBody } from "../query.js";
import { requireCollection, scopeOf } from "../tenant.js";
import { createAnswerGuard, type AnswerGuard } from "../../../pipelines/guard/answer-guard.js";
import { scopeCollections, scopedStore } from "../../../pipelines/store/scoped-store.js";
import { standaloneQuestion, withConversation } from "../conversation.js";

// The query log records what an answer could draw from: null for every collection.
const nullIfAll = (c: readonly string[] | undefined) => (c === undefined ? null : [...c]);

/**
 * POST /ask: retrieve, re-rank, pack within the token budget, generate with citations, verify,
 * log the query. JSON by default; server-sent events with `stream: true` or
 * `Accept: text/event-stream` (events: retrieval, delta, citations, verification, done, error).
 */
export const askRoute = new Hono<AppEnv>().post("/", async (c) => {
  const { config, core, generator, reranker, log, metrics, metricsJudge } = c.var.deps;
  const started = performance.now();
  const req = await parseRequest(c);
  // Tenancy: a named collection outside the key's scope is unknown; the store view below imposes the scope on every search.
  requireCollection(c, req.collection);
  const scope = scopeOf(c);
  // A follow-up ("and who designed it?") is answered as the standalone question its history makes of it.
  const asked = await standaloneQuestion(c, req);
  const guard = withConversation(
    createAnswerGuard(asked.question, {
      injectionMode: config.INJECTION_MODE ?? "flag",
      maskAnswers: config.PII_MASK_ANSWERS ?? false,
    }),
    asked,
  );
  // An explicit `stream: false` wins over the Accept header.
  const streaming = req.stream ?? (c.req.header("accept") ?? "").toLowerCase().includes("text/event-stream");
  requireCore(core);
  // Follow a re-index switch; everything below reads the generation and embedder once.
  await core.refresh();
  // Budgets, the answer cache and prices (README "Gateway"); a key over its day's budget gets 429 here.
  const gateway = gatewayFor(c.var.deps, core);
  await gateway.enforceBudget(c);
  if (core.mismatch) {
    throw new ApiError(
      "embedding_model_mismatch",
      `The index was built with ${embedderKey(core.mismatch.indexed)} but this process embeds with ` +
        `${embedderKey(core.mismatch.current)}. Set EMBEDDING_MODEL back to the indexed model, or rebuild the index ` +
        "for the new one with `npm run reindex` (service stopped, or with DATABASE_URL) or POST /admin/reindex.",
      { indexed: core.mismatch.indexed, current: core.mismatch.current },
    );
  }
  const onJudgeError = (err: unknown) =>
    log.warn("metrics judge failed; metrics use the default method", {
      requestId: c.var.requestId,
      judge: metricsJudge?.name,
      err,
    });
  const served = answerDepsOf(core, config, { generator, reranker, metricsJudge, onJudgeError });
  // Per request: the tenant's view of the store, and the reranker behind the injection screen.
  const deps: AnswerDeps = {
    ...served,
    store: scopedStore(core.store, scope),
    reranker: guard.screen(served.reranker),
  };
  // The metrics are computed after the response unless the request asks for them (issue 14).
  let measure: (() => Promise<QueryMetrics>) | undefined;
  const input: AnswerInput = {
    question: asked.question,
    collections: req.collection ? [req.collection] : undefined,
    topK: req.topK ?? config.DEFAULT_TOP_K,
    maxContextTokens: req.maxContextTokens,
    reference: req.reference,
    deferMetrics: req.metrics ? undefined : (compute) => void (measure = compute),
    compress: req.compress ?? config.COMPRESS_RATIO,
  };
  const run = (events: AnswerEvents) => gateway.answer({ c, req, deps, input, events, finish: guard.finish });
  const record = async (response: AskResponse) => {
    observeAnswer(metrics, response, streaming, (performance.now() - started) / 1000);
    // A full metrics queue (overload): the answer is logged as skipped at once, not updated after.
    const queued = measure !== undefined && (c.var.deps.metricsQueue?.admit() ?? false);
    try {
      await core.catalog.logQuery({
        id: response.queryId,
        requestId: c.var.requestId,
        question: req.question,
        rewrittenQuestion: asked.rewritten ? asked.question : null,
        collection: req.collection ?? null,
        collections: nullIfAll(scopeCollections(input.collections, scope)),
        apiKeyId: c.var.principal.keyId,
        generationId: response.generation,
        answer: response.answer,
        abstained: response.abstained,
        citations: response.citations,
        verification: response.verification,
        metrics: response.metrics ?? null,
        // A cache hit ran no answer path, so nothing is measured for it (its first answer's row has the metrics).
        metricsStatus: response.metrics ? "done" : queued ? "pending" : "skipped",
        usage: response.usage,
        timings: response.timings,
        promptVersion: response.promptVersion ?? null,
        cache: response.cache ?? null,
      });
      await gateway.account(c.var.principal.keyId, response);
    } catch (err) {
      // The answer is still right; a lost log row must not fail the user's request.
      log.error("query log write failed", { requestId: c.var.requestId, err });
      return;
    }
    if (measure && queued) {
      await deferMetrics(c.var.deps, response.queryId, measure);
    }
  };
  // Past validation, before any work: above MAX_ANSWERS_IN_FLIGHT, 503 overloaded at once.
  const slot = admitAnswer(c, c.var.deps.admission, () => c.var.deps.metrics?.askShed.inc());
  if (!streaming) {
    try {
      const response = await run({ onSources: guard.onSources });
      await record(response);
      return c.json(response);
    } finally {
      slot.release();
    }
  }
  return streamAnswer(c, run, record, guard, slot);
});

/** Latency to the complete answer (streamed or not), tokens, abstentions, verifier removals. */
function observeAnswer(metrics: Metrics | undefined, r: AskResponse, streaming: boolean, seconds: number) {
  if (!metrics) {
    return;
  }
  metrics.askDuration.observe({ mode: streaming ? "stream" : "json" }, seconds);
  metrics.askTokens.inc({ kind: "context" }, r.usage.contextTokens);
  metrics.askTokens.inc({ kind: "answer" }, r.usage.answerTokens);
  metrics.askAnswers.inc({ abstained: String(r.abstained) });
  metrics.verifierRemovals.inc({ kind: "sentence" }, r.verification.removed);
  metrics.verifierRemovals.inc({ kind: "flagged_sentence" }, r.verification.flagged);
  // citationsNotGiven is a subset of citationsRemoved, so it is not added again.
  metrics.verifierRemovals.inc({ kind: "citation" }, r.verification.citationsRemoved);
  for (const name of QUALITY_METRIC_NAMES) {
    const value = r.metrics?.[name];
    if (typeof value === "number") {
      metrics.answerQuality.observe({ metric: name }, value);
    }
  }
}

/**
 * Streams the answer. Deltas are the model's raw text as it writes it; verification needs the
 * whole answer, so `done` carries the verified answer, which replaces what the deltas showed.
 * Errors before the stream starts are ordinary JSON errors; after, an `error` event in the same shape.
 */
function streamAnswer(
  c: Context<AppEnv>,
  run: (events: AnswerEvents) => Promise<AskResponse>,
  record: (r: AskResponse) => Promise<void>,
  guard: AnswerGuard,
  slot: { release(): void },
) {
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => abort.abort(new Error("client went away")));
    const send = (event: string, data: unknown) => stream.writeSSE({ event, data: JSON.stringify(data) });
    // Deltas are untrusted model text too: the filter defangs links and masks (when configured) as they pass.
    const deltas = guard.deltaFilter();
    const relay = (text: string) => void (text && send("delta", { text }));
    try {
      const response = await run({
        onSources: (sources) => (guard.onSources(sources), send("retrieval", { sources })),
        onDelta: (text) => relay(deltas.push(text)),
        onRestart: (reason) => (deltas.reset(), void send("delta", { text: "", restart: true, reason })),
        signal: abort.signal,
      });
      relay(deltas.flush());
      await send("citations", { citations: response.citations });
      await send("verification", response.verification);
      await record(response);
      await send("done", response);
    } catch (err) {
      if (abort.signal.aborted) {
        return;
      }
      // The one error mapping (codes, no internals, logging) is the app's; reuse its body.
      const res = await onError(c.var.deps.log)(err instanceof Error ? err : new Error(String(err)), c);
      await send("error", await res.json());
    } finally {
      slot.release();
    }
  });
}

function parseRequest(c: Context<AppEnv>): Promise<AskRequest> {
  return parseJsonBody(c, askRequestSchema(c.var.deps.config.MAX_QUESTION_CHARS));
}
