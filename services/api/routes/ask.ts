import type { Context } from "hono";
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { streamSSE } from "hono/streaming";
import type { AnswerDeps, AnswerEvents, AnswerInput } from "../../../pipelines/answer/ask.js";
import { embedderKey } from "../../../pipelines/embed/types.js";
import { QUALITY_METRIC_NAMES } from "../../../pipelines/store/quality-queries.js";
import {
  ASK_LIMITS,
  AskResponseSchema,
  askRequestSchema,
  CitationSchema,
  QueryMetricsSchema,
  RetrievedSourceSchema,
  VerificationSchema,
  type AskRequest,
  type AskResponse,
  type QueryMetrics,
} from "../../../schemas/api.js";
import { answerDepsOf } from "../../common/answer-deps.js";
import { deferMetrics } from "../metrics-queue.js";
import { admitAnswer } from "../admission.js";
import type { Metrics } from "../../common/metrics.js";
import type { AppEnv } from "../context.js";
import { BODY_ERRORS, defineRoute, errors, GUARDED_ERRORS, named, type RouteHandler } from "../contract.js";
import { exampleAskResponse } from "../examples.js";
import { requireCore } from "../require-core.js";
import { ApiError, onError } from "../errors.js";
import { gatewayFor } from "../gateway.js";
import { parseJsonBody } from "../query.js";
import { requireCollection, scopeOf } from "../tenant.js";
import { scopeCollections, scopedStore } from "../../../pipelines/store/scoped-store.js";
import { standaloneQuestion, withConversation } from "../conversation.js";

// The query log records what an answer could draw from: null for every collection.
const nullIfAll = (c: readonly string[] | undefined) => (c === undefined ? null : [...c]);

/**
 * POST /ask: retrieve, re-rank, pack within the token budget, generate with citations, verify,
 * log the query. JSON by default; server-sent events with `stream: true` or
 * `Accept: text/event-stream` (events: retrieval, delta, citations, verification, done, error).
 * The question limit is the app's MAX_QUESTION_CHARS, so the declaration is made per app.
 */
export function askRoute(maxQuestionChars: number) {
  // Built once per limit: /v1/chat/completions and MCP's ask mount it per request (internal-ask.ts).
  let route = built.get(maxQuestionChars);
  if (!route) {
    route = defineRoute(askDeclaration(maxQuestionChars), answer, { components: STREAM_COMPONENTS });
    built.set(maxQuestionChars, route);
  }
  return route;
}
const built = new Map<number, ReturnType<typeof defineRoute>>();

const AskResponseComponent = named("AskResponse", AskResponseSchema);
// What the stream's events carry, named in the document for clients that parse them.
const STREAM_COMPONENTS = {
  RetrievedSource: RetrievedSourceSchema,
  Citation: CitationSchema,
  Verification: VerificationSchema,
  QueryMetrics: QueryMetricsSchema,
  Delta: z.object({
    text: z.string(),
    restart: z.boolean().optional().describe("Text sent so far is void: the model failed and a fallback starts over."),
    reason: z.string().optional(),
  }),
};

function askDeclaration(maxQuestionChars: number) {
  return createRoute({
    method: "post",
    path: "/",
    summary: "Answer a question from the indexed documents, with verified [n] citations",
    request: {
      body: {
        required: true,
        content: { "application/json": { schema: named("AskRequest", askRequestSchema(maxQuestionChars)) } },
      },
    },
    responses: {
      200: {
        description:
          "The answer (JSON), or with stream: true or Accept: text/event-stream, server-sent events: " +
          "`retrieval` {sources: RetrievedSource[]}, `delta` (Delta, raw model text before verification), " +
          "`citations` {citations: Citation[]}, `verification` (Verification), `done` (AskResponse, the verified " +
          "answer, which replaces the deltas) or `error` (Error) once the stream has started.",
        content: {
          "application/json": { schema: AskResponseComponent, example: exampleAskResponse },
          "text/event-stream": {
            schema: z.string(),
            example: `event: done\ndata: ${JSON.stringify(exampleAskResponse)}\n\n`,
          },
        },
      },
      ...errors({
        invalid_request:
          `malformed JSON, unknown fields, an empty question or one over ${maxQuestionChars} characters, ` +
          `topK outside 1-${ASK_LIMITS.maxTopK}, maxContextTokens outside ` +
          `${ASK_LIMITS.minContextTokens}-${ASK_LIMITS.maxContextTokens}, an empty reference or one over ` +
          `${maxQuestionChars * 4} characters`,
        not_found: "the collection is not one the key may read",
        embedding_model_mismatch: "the index was built by another embedder",
        budget_exceeded: "the key has spent its day's budget",
        index_not_ready: "the service is still starting",
        overloaded: "MAX_ANSWERS_IN_FLIGHT answers are in the making; Retry-After says when to retry",
        service_unavailable: "a dependency (database, model API) cannot be reached; Retry-After says when to retry",
        ...BODY_ERRORS,
        ...GUARDED_ERRORS,
      }),
    },
  });
}

const answer: RouteHandler = async (c) => {
  const { config, core, generator, reranker, log, metrics, metricsJudge } = c.var.deps;
  const started = performance.now();
  const req = await parseRequest(c);
  // Tenancy: a named collection outside the key's scope is unknown; the store view below imposes the scope on every search.
  requireCollection(c, req.collection);
  const scope = scopeOf(c);
  // A follow-up ("and who designed it?") is answered as the standalone question its history makes of it.
  const asked = await standaloneQuestion(c, req);
  // The answer guard (injection screen, defanged and masked output) is the answer path's own (deps.guard).
  const finish = withConversation(asked);
  // An explicit `stream: false` wins over the Accept header.
  const streaming = req.stream ?? (c.req.header("accept") ?? "").toLowerCase().includes("text/event-stream");
  requireCore(core);
  // Follow a re-index switch; everything below reads the generation and embedder once.
  const served = await core.runtime.refresh();
  // Budgets, the answer cache and prices (README "Gateway"); a key over its day's budget gets 429 here.
  const gateway = gatewayFor(c.var.deps, core);
  await gateway.enforceBudget(c);
  const { mismatch } = served;
  if (mismatch) {
    throw new ApiError(
      "embedding_model_mismatch",
      `The index was built with ${embedderKey(mismatch.indexed)} but this process embeds with ` +
        `${embedderKey(mismatch.current)}. Set EMBEDDING_MODEL back to the indexed model, or rebuild the index ` +
        "for the new one with `npm run reindex` (service stopped, or with DATABASE_URL) or POST /admin/reindex.",
      { indexed: mismatch.indexed, current: mismatch.current },
    );
  }
  const onJudgeError = (err: unknown) =>
    log.warn("metrics judge failed; metrics use the default method", {
      requestId: c.var.requestId,
      judge: metricsJudge?.name,
      err,
    });
  const shared = answerDepsOf(core, served, config, { generator, reranker, metricsJudge, onJudgeError });
  // Per request: the tenant's view of the store.
  const deps: AnswerDeps = { ...shared, store: scopedStore(core.store, scope) };
  // The metrics are computed after the response unless the request asks for them (issue 14).
  let measure: (() => Promise<QueryMetrics>) | undefined;
  const input: AnswerInput = {
    question: asked.question,
    collections: req.collection ? [req.collection] : undefined,
    topK: req.topK ?? config.DEFAULT_TOP_K,
    maxContextTokens: req.maxContextTokens,
    reference: req.reference,
    deferMetrics: req.metrics
      ? undefined
      : (compute) => {
          measure = compute;
        },
    compress: req.compress ?? config.COMPRESS_RATIO,
  };
  const run = (events: AnswerEvents) => gateway.answer({ c, req, deps, input, events, finish });
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
      const response = await run({});
      await record(response);
      return c.json(response);
    } finally {
      slot.release();
    }
  }
  return streamAnswer(c, run, record, slot);
};

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
  slot: { release(): void },
) {
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => abort.abort(new Error("client went away")));
    const send = (event: string, data: unknown) => stream.writeSSE({ event, data: JSON.stringify(data) });
    // Deltas are untrusted model text too: the answer path's guard has defanged and masked them.
    try {
      const response = await run({
        onSources: (sources) => {
          void send("retrieval", { sources });
        },
        onDelta: (text) => {
          void send("delta", { text });
        },
        onRestart: (reason) => {
          void send("delta", { text: "", restart: true, reason });
        },
        signal: abort.signal,
      });
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
