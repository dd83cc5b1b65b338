import { randomUUID } from "node:crypto";
import { ASK_LIMITS, type AskResponse, type Citation, type RetrievedSource } from "../../schemas/api.js";
import type { Embedder } from "../embed/types.js";
import { ABSTAIN_MESSAGE } from "../generate/answer-text.js";
import { compressContext } from "../generate/compress.js";
import { packContext } from "../generate/pack.js";
import type { ContextSource, GeneratedAnswer, Generator } from "../generate/types.js";
import type { Reranker } from "../rerank/types.js";
import { retrieve } from "../retrieve/hybrid.js";
import type { VectorStore } from "../store/types.js";
import { annotate, withSpan } from "../tracing.js";
import { verifyAnswer } from "../verify/verify.js";
import { memoizeEmbed, type MemoEmbed, type TextVectorCache } from "../embed/memo.js";
import { nextTurn } from "../turns.js";
import { computeQueryMetrics, type LlmJudge, type QueryMetrics } from "../metrics/index.js";
import type { AnswerGuardOptions } from "../guard/answer-guard.js";
import { judgeAnswerability, type Answerability, type AnswerabilityModel } from "./answerability.js";
import { withGuard } from "./guarded.js";
import { withTextLayers, type PageTextLayers } from "./text-layer.js";

export interface AnswerDeps {
  store: VectorStore;
  embedder: Embedder;
  generator: Generator;
  reranker: Reranker;
  generationId: number;
  denseWeight: number;
  /** The generation's fitted document/chunk BM25 blend; the store's default when unset. */
  documentWeight?: number | undefined;
  /** Candidates a side for fusion: the depth the weights were fitted at; retrieve's default when unset. */
  candidates?: number | undefined;
  verify: { mode: "remove" | "flag"; minSupportedShare: number };
  /**
   * How the quality metrics judge (METRICS_JUDGE): embeddings and words by default; `lexicalOnly`
   * skips their embedding call; `judge` asks an LLM, and `onJudgeError` hears when it fails.
   */
  quality?: { lexicalOnly?: boolean; judge?: LlmJudge | undefined; onJudgeError?: (err: unknown) => void } | undefined;
  /** Abstain before generating when the judge's probability is below `threshold` (0 turns it off). */
  answerability?: { threshold: number; model?: AnswerabilityModel } | undefined;
  /**
   * Vectors of document sentences shared across answers (TEXT_VECTOR_CACHE; pipelines/embed/memo.ts):
   * the answerability judge, the verifier and the metrics embed the same sentences of popular chunks
   * for every answer that retrieves them. Unset: each answer embeds its own.
   */
  textVectors?: TextVectorCache | undefined;
  /** Where cited PDF pages' text came from, so a citation of OCR'd text says so; unset: not marked. */
  pageTextLayers?: PageTextLayers | undefined;
  /**
   * The prompt-injection and PII guard (INJECTION_MODE, PII_MASK_ANSWERS): screens re-ranked chunks,
   * filters streamed deltas and defangs the answer (pipelines/answer/guarded.ts); unset: off.
   */
  guard?: AnswerGuardOptions | undefined;
}

export interface AnswerInput {
  question: string;
  collections?: string[] | undefined;
  topK: number;
  maxContextTokens?: number | undefined;
  /** A reference answer: the metrics then include contextRecall and answerCorrectness. */
  reference?: string | undefined;
  /**
   * Takes the quality metrics off the answer's path: when set, the answer is returned without
   * `metrics` and this hears a function that computes them (after the response, on a background
   * queue: services/api/metrics-queue.ts). Unset, they are computed inline and returned.
   */
  deferMetrics?: ((compute: () => Promise<QueryMetrics>) => void) | undefined;
  /** Context compression: keep this share of the packed sources' tokens (pipelines/generate/compress.ts); 1 or unset: off. */
  compress?: number | undefined;
}

/** What a streaming caller hears while the answer is made; the returned response is authoritative. */
export interface AnswerEvents {
  onSources?: (sources: RetrievedSource[]) => void | Promise<void>;
  /** Answer text as it is written; raw model output, before verification. */
  onDelta?: (text: string) => void;
  /** Text sent to `onDelta` so far is void (the model failed mid-answer; a fallback starts over). */
  onRestart?: (reason: string) => void;
  /** The answerability judge's features and probability, when it ran (for benchmarks and debugging). */
  onAnswerability?: (a: Answerability) => void;
  signal?: AbortSignal | undefined;
}

// Re-ranking looks at more candidates than it keeps, or it could only shuffle the same few.
const RERANK_POOL_FACTOR = 3;
const SNIPPET_CHARS = 300;

/**
 * Retrieval, re-ranking, token-budgeted packing, generation and verification for one question,
 * behind the answer guard when `deps.guard` is set. Pure of HTTP.
 */
export function answerQuestion(deps: AnswerDeps, input: AnswerInput, events: AnswerEvents = {}): Promise<AskResponse> {
  // One span per question, a child of the request's; each stage below is a child of this one.
  const attrs = {
    "rag.generation.id": deps.generationId,
    "rag.top_k": input.topK,
    "rag.question.chars": input.question.length,
  };
  return withSpan("ask", attrs, async (span) =>
    annotate(span, await withGuard(deps, input.question, events, (d, e) => answerStages(d, input, e)), (r) => ({
      "rag.query.id": r.queryId,
      "rag.abstained": r.abstained,
      "rag.citations": r.citations.length,
      "rag.tokens.context": r.usage.contextTokens,
      "rag.tokens.answer": r.usage.answerTokens,
    })),
  );
}

async function answerStages(deps: AnswerDeps, input: AnswerInput, events: AnswerEvents): Promise<AskResponse> {
  const t0 = performance.now();
  // The verifier and the metrics embed many of the same texts (claims, source sentences): once each,
  // and the sentences of popular chunks once for all the answers that quote them (not the question).
  // After retrieval, this answer's embeddings (answerability, verification) go ahead of new questions'.
  let retrieved = false;
  // One batched embedding call wakes many answers at once: each continues on its own main-thread turn
  // (pipelines/turns.ts), so new connections are accepted between them.
  const embed = memoizeEmbed(
    async (texts, opts) => {
      const vectors = await deps.embedder.embed(texts, retrieved ? { ...opts, followUp: true } : opts);
      await nextTurn();
      return vectors;
    },
    { shared: deps.textVectors, keepOut: new Set([input.question]) },
  );
  const pool =
    deps.reranker.name === "none" ? input.topK : Math.min(ASK_LIMITS.maxTopK, input.topK * RERANK_POOL_FACTOR);
  const hits = await withSpan(
    "ask.retrieve",
    { "rag.top_k": pool, "rag.dense_weight": deps.denseWeight },
    async (span) =>
      // Through the request's memo: the answerability judge and the metrics embed the question too.
      annotate(
        span,
        await retrieve({ store: deps.store, embedder: { embed } }, input.question, {
          generationId: deps.generationId,
          topK: pool,
          collections: input.collections,
          denseWeight: deps.denseWeight,
          documentWeight: deps.documentWeight,
          candidates: deps.candidates,
        }),
        (h) => ({ "rag.candidates": h.length }),
      ),
  );
  const t1 = performance.now();
  retrieved = true;
  const ranked = (
    await withSpan("ask.rerank", { "rag.reranker": deps.reranker.name, "rag.candidates": hits.length }, () =>
      deps.reranker.rerank(input.question, hits),
    )
  ).slice(0, input.topK);
  const t2 = performance.now();

  const g = deps.generator;
  const ceiling = Math.max(0, g.contextWindow - g.answerReserve - g.promptTokens(input.question));
  const budget = Math.min(input.maxContextTokens ?? ceiling, ceiling);
  const full = withSpan("ask.pack", { "rag.tokens.budget": budget }, (span) =>
    annotate(
      span,
      packContext(ranked, budget, g.tokenizer, (s) => g.renderSource(s)),
      (p) => ({
        "rag.sources": p.sources.length,
        "rag.tokens.context": p.usedTokens,
        "rag.sources.dropped": p.dropped,
      }),
    ),
  );
  seedStoredVectors(embed, deps, full.sources, input.collections);
  // The generator gets the compressed sources; the answerability judge still reads them whole.
  const compressed =
    input.compress !== undefined && input.compress < 1
      ? compressContext(input.question, full, input.compress, g.tokenizer, (s) => g.renderSource(s))
      : undefined;
  const packed = compressed?.packed ?? full;
  await events.onSources?.(
    packed.sources.map((s) => ({ ...describe(s), score: round(s.hit.score), tokens: s.tokens })),
  );

  // Topic is not answer: a judge of the packed text decides whether generating is worth it.
  const judge = deps.answerability;
  const answerability =
    judge && judge.threshold > 0 && packed.sources.length
      ? await withSpan("ask.answerability", { "rag.sources": packed.sources.length }, () =>
          judgeAnswerability(input.question, full.sources, embed, judge.model),
        )
      : undefined;
  if (answerability) {
    events.onAnswerability?.(answerability);
  }
  const unanswerable = answerability !== undefined && answerability.score < judge!.threshold;

  let streamed = 0;
  const generated: GeneratedAnswer =
    packed.sources.length && !unanswerable
      ? await withSpan(
          "ask.generate",
          { "rag.generator": g.name, "rag.sources": packed.sources.length },
          async (span) =>
            annotate(
              span,
              await g.generate({
                question: input.question,
                sources: packed.sources,
                onDelta:
                  events.onDelta &&
                  ((d) => {
                    streamed++;
                    events.onDelta!(d);
                  }),
                onRestart:
                  events.onRestart &&
                  ((r) => {
                    streamed = 0;
                    events.onRestart!(r);
                  }),
                signal: events.signal,
              }),
              (a) => ({
                "rag.model": a.model,
                "rag.tokens.prompt": a.promptTokens,
                "rag.tokens.completion": a.completionTokens,
              }),
            ),
        )
      : { text: ABSTAIN_MESSAGE, abstained: true, cited: [], sentences: [], model: "none", fallbacks: [] };
  const t3 = performance.now();
  const verified = await withSpan("ask.verify", { "rag.verify.mode": deps.verify.mode }, async (span) =>
    annotate(span, await verifyAnswer(generated, packed.sources, { ...deps.verify, embed }), (v) => ({
      "rag.abstained": v.abstained,
      "rag.citations": v.cited.length,
    })),
  );
  const t4 = performance.now();
  // A generator that did not stream (or fell back to one that does not) still streams its answer.
  if (events.onDelta && streamed === 0) {
    events.onDelta(verified.text);
  }
  const measure = (signal?: AbortSignal) =>
    withSpan("ask.metrics", {}, () =>
      computeQueryMetrics(
        {
          question: input.question,
          answer: verified.text,
          abstained: verified.abstained,
          details: verified.verification.details,
          sources: packed.sources,
          reference: input.reference,
        },
        {
          // Deferred, nobody waits for them: their texts queue behind other requests' questions.
          embed: deps.quality?.lexicalOnly
            ? undefined
            : (texts: string[]) => embed(texts, { background: input.deferMetrics !== undefined }),
          judge: deps.quality?.judge,
          onJudgeError: deps.quality?.onJudgeError,
          signal,
        },
      ),
    );
  // Deferred, they outlive the request: the client going away must not cancel them.
  let metrics: QueryMetrics | undefined;
  if (input.deferMetrics) {
    input.deferMetrics(() => measure());
  } else {
    metrics = await measure(events.signal);
  }
  const t5 = performance.now();

  const citations: Citation[] = await withTextLayers(
    packed.sources
      .filter((s) => verified.cited.includes(s.n))
      .map((s) => ({ ...describe(s), snippet: snippet(s.text) })),
    deps.pageTextLayers,
  );
  return {
    queryId: randomUUID(),
    generation: deps.generationId,
    answer: verified.text,
    abstained: verified.abstained,
    ...(unanswerable
      ? {
          abstainReason: `The best sources do not answer the question (answerability ${answerability!.score.toFixed(2)} < ${judge!.threshold}).`,
        }
      : verified.abstainReason
        ? { abstainReason: verified.abstainReason }
        : {}),
    ...(answerability ? { answerability: { score: round3(answerability.score), threshold: judge!.threshold } } : {}),
    citations,
    verification: { ...verified.verification, method: generated.abstained ? "none" : verified.verification.method },
    ...(metrics ? { metrics } : {}),
    generator: { name: g.name, model: generated.model, fallbacks: generated.fallbacks },
    reranker: deps.reranker.name,
    usage: {
      contextTokens: packed.usedTokens,
      contextBudget: budget,
      answerTokens: g.tokenizer.count(verified.text),
      sources: packed.sources.length,
      candidates: hits.length,
      droppedSources: packed.dropped,
      encoding: g.tokenizer.encoding,
      ...(generated.promptTokens !== undefined ? { promptTokens: generated.promptTokens } : {}),
      ...(generated.completionTokens !== undefined ? { completionTokens: generated.completionTokens } : {}),
      ...(compressed ? { compression: compressed.report } : {}),
    },
    timings: {
      retrievalMs: round(t1 - t0),
      rerankMs: round(t2 - t1),
      generationMs: round(t3 - t2),
      verificationMs: round(t4 - t3),
      ...(metrics ? { metricsMs: round(t5 - t4) } : {}),
      totalMs: round(t5 - t0),
    },
  };
}

/**
 * A source packed whole is a chunk's text, and the store may hold that chunk's vector in memory:
 * the embedding of exactly that text, made at ingestion by the generation's embedder. The
 * answerability judge embeds the top source, which then costs nothing (a 128-token text was most of
 * its embedding call); a cut source is embedded as before.
 */
function seedStoredVectors(
  embed: MemoEmbed,
  deps: AnswerDeps,
  sources: ContextSource[],
  collections: readonly string[] | undefined,
) {
  const whole = sources.filter((s) => s.text === s.hit.text);
  if (!deps.store.storedVectors || whole.length === 0) {
    return;
  }
  const vectors = deps.store.storedVectors(
    deps.generationId,
    whole.map((s) => s.hit.chunkId),
    collections,
  );
  for (const s of whole) {
    const v = vectors.get(s.hit.chunkId);
    if (v) {
      embed.seed(s.text, v);
    }
  }
}

function describe(s: ContextSource): Omit<Citation, "snippet"> {
  const h = s.hit;
  return {
    n: s.n,
    documentId: h.documentId,
    sourceId: h.sourceId,
    path: h.path,
    page: h.page,
    chunkId: h.chunkId,
    headingPath: h.headingPath,
  };
}

const snippet = (text: string) => (text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS).trimEnd()}…` : text);
const round = (ms: number) => Math.round(ms * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
