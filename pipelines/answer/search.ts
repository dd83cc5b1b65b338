import type { Embedder } from "../embed/types.js";
import type { Reranker } from "../rerank/types.js";
import { retrieve } from "../retrieve/hybrid.js";
import type { VectorStore } from "../store/types.js";
import { withSpan } from "../tracing.js";

export interface SearchDeps {
  store: VectorStore;
  embedder: Pick<Embedder, "embed">;
  reranker: Reranker;
  generationId: number;
  denseWeight: number;
  documentWeight?: number | undefined;
  candidates?: number | undefined;
}

/** A retrieved passage, as a tool shows it to an assistant: where it is and the text that matched. */
export interface Passage {
  documentId: string;
  chunkId: string;
  collection: string;
  path: string;
  page: number | null;
  headingPath: string[];
  /** The reranker's score, higher is better (its scale is the reranker's). */
  score: number;
  snippet: string;
}

// As /ask: re-ranking looks at more candidates than it keeps, or it could only shuffle the same few.
const RERANK_POOL_FACTOR = 3;
const MAX_POOL = 50;
const SNIPPET_CHARS = 600;

/**
 * /ask's retrieval without generation: hybrid retrieval and re-ranking, the best `topK` passages.
 * For callers (MCP clients) whose own model reads the passages and writes the answer.
 */
export function searchPassages(
  deps: SearchDeps,
  query: string,
  opts: { topK: number; collections?: string[] | undefined },
): Promise<Passage[]> {
  return withSpan("search", { "rag.top_k": opts.topK, "rag.generation.id": deps.generationId }, async () => {
    const pool = deps.reranker.name === "none" ? opts.topK : Math.min(MAX_POOL, opts.topK * RERANK_POOL_FACTOR);
    const hits = await retrieve({ store: deps.store, embedder: deps.embedder }, query, {
      generationId: deps.generationId,
      topK: pool,
      collections: opts.collections,
      denseWeight: deps.denseWeight,
      documentWeight: deps.documentWeight,
      candidates: deps.candidates,
    });
    const ranked = (await deps.reranker.rerank(query, hits)).slice(0, opts.topK);
    return ranked.map((h) => ({
      documentId: h.documentId,
      chunkId: h.chunkId,
      collection: h.collection,
      path: h.path,
      page: h.page,
      headingPath: h.headingPath,
      score: Math.round(h.score * 1000) / 1000,
      snippet: h.text.length > SNIPPET_CHARS ? `${h.text.slice(0, SNIPPET_CHARS).trimEnd()}…` : h.text,
    }));
  });
}
