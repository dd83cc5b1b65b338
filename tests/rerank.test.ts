import { describe, expect, it } from "vitest";
import { createReranker, noReranker } from "../pipelines/rerank/index.js";
import type { ChunkHit } from "../pipelines/store/types.js";
import { hit } from "./support/answer-fixtures.js";

/** nDCG@k of a ranking against graded labels (path → gain). */
function ndcg(ranked: ChunkHit[], labels: Record<string, number>, k = 5): number {
  const dcg = ranked.slice(0, k).reduce((s, h, i) => s + (labels[h.path] ?? 0) / Math.log2(i + 2), 0);
  const ideal = Object.values(labels)
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((s, g, i) => s + g / Math.log2(i + 2), 0);
  return dcg / ideal;
}

// Fused scores as hybrid retrieval gives them: the passage that answers is third, behind two that
// share the question's words but not its phrase.
const question = "What constant does reciprocal rank fusion use?";
const candidates = [
  hit(
    "ranking-metrics.md",
    "A rank metric rewards relevant documents near the top. Fusion of metrics is rare; each uses its own constant.",
    0.91,
  ),
  hit(
    "sensor-fusion.md",
    "Sensor fusion combines readings. The filter uses a constant gain, and the rank of the matrix must be full.",
    0.88,
  ),
  hit(
    "rrf.md",
    "Reciprocal rank fusion adds 1/(k + rank) over the rankings it fuses. The constant k is 60 in the original paper.",
    0.86,
  ),
  hit(
    "bm25.md",
    "BM25 scores a document by term frequency and inverse document frequency, with k1 and b as its constants.",
    0.7,
  ),
  hit(
    "hybrid.md",
    "Hybrid search fuses dense and lexical rankings; reciprocal rank fusion is one way, weighted scores another.",
    0.65,
  ),
];
const labels = { "rrf.md": 3, "hybrid.md": 1 };

describe("lexical reranker", () => {
  it("improves the order on a labelled case: the passage with the question's phrase comes first", async () => {
    const reranker = await createReranker("lexical");
    const ranked = await reranker.rerank(question, candidates);
    expect(ndcg(ranked, labels)).toBeGreaterThan(ndcg(candidates, labels));
    expect(ranked[0]!.path).toBe("rrf.md");
    expect(ranked.find((h) => h.path === "rrf.md")!.retrievalScore).toBe(0.86);
  });

  it("keeps a good retrieval order: the prior holds without clear lexical evidence", async () => {
    const reranker = await createReranker("lexical");
    const ordered = [...candidates].sort(
      (a, b) => (labels[b.path as keyof typeof labels] ?? 0) - (labels[a.path as keyof typeof labels] ?? 0),
    );
    const good = ordered.map((h, i) => ({ ...h, score: 1 - i * 0.1 }));
    const ranked = await reranker.rerank(question, good);
    expect(ndcg(ranked, labels)).toBeGreaterThanOrEqual(ndcg(good, labels));
    expect(ranked.map((h) => h.path).slice(0, 2)).toEqual(["rrf.md", "hybrid.md"]);
  });

  it("leaves the order alone when no question word occurs in any candidate", async () => {
    const reranker = await createReranker("lexical");
    const ranked = await reranker.rerank("Who painted the Mona Lisa?", candidates);
    expect(ranked.map((h) => h.path)).toEqual(candidates.map((h) => h.path));
  });

  it("RERANKER=none keeps the retrieval order", async () => {
    expect((await noReranker.rerank(question, candidates)).map((h) => h.path)).toEqual(candidates.map((h) => h.path));
    expect((await createReranker("none")).name).toBe("none");
  });
});

describe("onnx-cross-encoder reranker", () => {
  it("says what to install when @huggingface/transformers is missing", async () => {
    await expect(createReranker("onnx-cross-encoder:/nonexistent/model")).rejects.toThrow(
      /RERANKER=onnx-cross-encoder:<folder> needs @huggingface\/transformers.*npm install @huggingface\/transformers/,
    );
  });

  it("refuses an unknown reranker", async () => {
    await expect(createReranker("bm42")).rejects.toThrow(/RERANKER=bm42 is unknown/);
  });
});
