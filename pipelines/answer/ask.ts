import { randomUUID } from "node:crypto";
import { ASK_LIMITS, type AskResponse, type Citation, type RetrievedSource } from "../../schemas/api.js";
import type { Embedder } from "../embed/types.js";
import { ABSTAIN_MESSAGE } from "../generate/answer-text.js";
import { packContext } from "../generate/context.js";
import type { ContextSource, GeneratedAnswer, Generator } from "../generate/types.js";
import type { Reranker } from "../rerank/types.js";
import { retrieve } from "../retrieve/hybrid.js";
import type { VectorStore } from "../store/types.js";
import { verifyAnswer } from "../verify/verify.js";

export interface AnswerDeps {
  store: VectorStore;
  embedder: Embedder;
  generator: Generator;
  reranker: Reranker;
  generationId: number;
  denseWeight: number;
  verify: { mode: "remove" | "flag"; minSupportedShare: number };
}

export interface AnswerInput {
  question: string;
  collections?: string[] | undefined;
  topK: number;
  maxContextTokens?: number | undefined;
}

/** What a streaming caller hears while the answer is made; the returned response is authoritative. */
export interface AnswerEvents {
  onSources?: (sources: RetrievedSource[]) => void | Promise<void>;
  /** Answer text as it is written; raw model output, before verification. */
  onDelta?: (text: string) => void;
  /** Text sent to `onDelta` so far is void (the model failed mid-answer; a fallback starts over). */
  onRestart?: (reason: string) => void;
  signal?: AbortSignal | undefined;
}

// Re-ranking looks at more candidates than it keeps, or it could only shuffle the same few.
const RERANK_POOL_FACTOR = 3;
const SNIPPET_CHARS = 300;

/** Retrieval, re-ranking, token-budgeted packing, generation and verification for one question. Pure of HTTP. */
export async function answerQuestion(deps: AnswerDeps, input: AnswerInput, events: AnswerEvents = {}): Promise<AskResponse> {
  const t0 = performance.now();
  const pool = deps.reranker.name === "none" ? input.topK : Math.min(ASK_LIMITS.maxTopK, input.topK * RERANK_POOL_FACTOR);
  const hits = await retrieve(deps, input.question, {
    generationId: deps.generationId,
    topK: pool,
    collections: input.collections,
    denseWeight: deps.denseWeight,
  });
  const t1 = performance.now();
  const ranked = (await deps.reranker.rerank(input.question, hits)).slice(0, input.topK);
  const t2 = performance.now();

  const g = deps.generator;
  const ceiling = Math.max(0, g.contextWindow - g.answerReserve - g.promptTokens(input.question));
  const budget = Math.min(input.maxContextTokens ?? ceiling, ceiling);
  const packed = packContext(ranked, budget, g.tokenizer, (s) => g.renderSource(s));
  await events.onSources?.(packed.sources.map((s) => ({ ...describe(s), score: round(s.hit.score), tokens: s.tokens })));

  let streamed = 0;
  const generated: GeneratedAnswer = packed.sources.length
    ? await g.generate({
        question: input.question,
        sources: packed.sources,
        onDelta: events.onDelta && ((d) => (streamed++, events.onDelta!(d))),
        onRestart: events.onRestart && ((r) => ((streamed = 0), events.onRestart!(r))),
        signal: events.signal,
      })
    : { text: ABSTAIN_MESSAGE, abstained: true, cited: [], sentences: [], model: "none", fallbacks: [] };
  const t3 = performance.now();
  const verified = await verifyAnswer(generated, packed.sources, {
    ...deps.verify,
    embed: (texts) => deps.embedder.embed(texts),
  });
  const t4 = performance.now();
  // A generator that did not stream (or fell back to one that does not) still streams its answer.
  if (events.onDelta && streamed === 0) events.onDelta(verified.text);

  const citations: Citation[] = packed.sources.filter((s) => verified.cited.includes(s.n)).map((s) => ({ ...describe(s), snippet: snippet(s.text) }));
  return {
    queryId: randomUUID(),
    generation: deps.generationId,
    answer: verified.text,
    abstained: verified.abstained,
    ...(verified.abstainReason ? { abstainReason: verified.abstainReason } : {}),
    citations,
    verification: { ...verified.verification, method: generated.abstained ? "none" : verified.verification.method },
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
    },
    timings: {
      retrievalMs: round(t1 - t0),
      rerankMs: round(t2 - t1),
      generationMs: round(t3 - t2),
      verificationMs: round(t4 - t3),
      totalMs: round(t4 - t0),
    },
  };
}

function describe(s: ContextSource): Omit<Citation, "snippet"> {
  const h = s.hit;
  return { n: s.n, documentId: h.documentId, sourceId: h.sourceId, path: h.path, page: h.page, chunkId: h.chunkId, headingPath: h.headingPath };
}

const snippet = (text: string) => (text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS).trimEnd()}…` : text);
const round = (ms: number) => Math.round(ms * 10) / 10;
