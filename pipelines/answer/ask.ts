import { randomUUID } from "node:crypto";
import type { AskResponse, Citation } from "../../schemas/api.js";
import type { Embedder } from "../embed/types.js";
import { packContext } from "../generate/context.js";
import type { GeneratorTokenizer } from "../generate/tokens.js";
import type { Generator } from "../generate/types.js";
import { retrieve } from "../retrieve/hybrid.js";
import type { VectorStore } from "../store/types.js";

export interface AnswerDeps {
  store: VectorStore;
  embedder: Embedder;
  generator: Generator;
  tokenizer: GeneratorTokenizer;
  generationId: number;
  denseWeight: number;
}

export interface AnswerInput {
  question: string;
  collections?: string[] | undefined;
  topK: number;
  maxContextTokens?: number | undefined;
}

// Instructions and delimiters around the sources take about this many tokens in a prompt.
const PROMPT_OVERHEAD_TOKENS = 256;
const SNIPPET_CHARS = 300;

/** Retrieval, token-budgeted packing and generation for one question. Pure of HTTP. */
export async function answerQuestion(deps: AnswerDeps, input: AnswerInput): Promise<AskResponse> {
  const t0 = performance.now();
  const hits = await retrieve(deps, input.question, {
    generationId: deps.generationId,
    topK: input.topK,
    collections: input.collections,
    denseWeight: deps.denseWeight,
  });
  const t1 = performance.now();
  const g = deps.generator;
  const ceiling = g.contextWindow - g.answerReserve - PROMPT_OVERHEAD_TOKENS - deps.tokenizer.count(input.question);
  const budget = Math.max(0, Math.min(input.maxContextTokens ?? ceiling, ceiling));
  const packed = packContext(hits, budget, deps.tokenizer);
  const generated = await g.generate({ question: input.question, sources: packed.sources });
  const t2 = performance.now();

  const citations: Citation[] = packed.sources
    .filter((s) => generated.cited.includes(s.n))
    .map((s) => ({
      n: s.n,
      documentId: s.hit.documentId,
      sourceId: s.hit.sourceId,
      path: s.hit.path,
      page: s.hit.page,
      chunkId: s.hit.chunkId,
      headingPath: s.hit.headingPath,
      snippet: s.text.length > SNIPPET_CHARS ? `${s.text.slice(0, SNIPPET_CHARS).trimEnd()}…` : s.text,
    }));
  return {
    queryId: randomUUID(),
    answer: generated.text,
    abstained: generated.abstained,
    citations,
    verification: {
      // Extractive sentences are quoted verbatim from the source they cite.
      method: g.name === "extractive" ? "verbatim-extract" : "none",
      sentences: generated.sentences.length,
      supported: g.name === "extractive" ? generated.sentences.length : 0,
      removed: 0,
      flagged: 0,
    },
    usage: {
      contextTokens: packed.usedTokens,
      contextBudget: budget,
      answerTokens: deps.tokenizer.count(generated.text),
      sources: packed.sources.length,
      encoding: deps.tokenizer.encoding,
    },
    timings: { retrievalMs: round(t1 - t0), generationMs: round(t2 - t1), totalMs: round(t2 - t0) },
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
