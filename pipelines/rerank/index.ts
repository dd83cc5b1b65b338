import { createCrossEncoderReranker } from "./cross-encoder.js";
import { createLexicalReranker } from "./lexical.js";
import { orderBy, type Reranker } from "./types.js";

export type { Reranker, RerankedHit } from "./types.js";

/** Keeps the retrieval order: RERANKER=none. */
export const noReranker: Reranker = {
  name: "none",
  rerank: async (_q, hits) =>
    orderBy(
      hits,
      hits.map((h) => h.score),
    ),
};

/** Builds the reranker named by `RERANKER`: `lexical` (default), `none` or `onnx-cross-encoder:<folder>`. */
export async function createReranker(spec: string): Promise<Reranker> {
  if (spec === "lexical") {
    return createLexicalReranker();
  }
  if (spec === "none") {
    return noReranker;
  }
  if (spec.startsWith("onnx-cross-encoder:")) {
    return createCrossEncoderReranker(spec.slice("onnx-cross-encoder:".length));
  }
  throw new Error(`RERANKER=${spec} is unknown; use lexical, none or onnx-cross-encoder:<model folder>.`);
}
