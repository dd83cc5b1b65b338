import { availableParallelism } from "node:os";
import { createOnnxEmbedder } from "./onnx.js";
import { createOpenAiEmbedder } from "./openai.js";
import type { Embedder } from "./types.js";
import { createUseLiteEmbedder } from "./use-lite.js";

export type { Embedder, EmbedderIdentity } from "./types.js";
export { embedderKey } from "./types.js";

export interface EmbedderConfig {
  /** `use-lite`, `onnx:<model folder>` or `openai:<model>` (EMBEDDING_MODEL). */
  model: string;
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  dimensions?: number | undefined;
  batchSize?: number | undefined;
  timeoutMs?: number | undefined;
  maxInputTokens?: number | undefined;
  version?: string | undefined;
  /** Worker threads for `use-lite` (EMBEDDING_THREADS); unset picks defaultEmbeddingThreads(). */
  threads?: number | undefined;
}

/**
 * One thread per core but one, at most four: the remaining core parses, chunks and writes the
 * next documents (and answers /ask) while the threads embed; past four, each copy of the model
 * costs memory for little gain on a single-process ingest. Never fewer than one.
 */
export const defaultEmbeddingThreads = () => Math.min(4, Math.max(1, availableParallelism() - 1));

/** Builds and loads the embedder named by EMBEDDING_MODEL. Heavy providers load lazily. */
export async function createEmbedder(config: EmbedderConfig | string): Promise<Embedder> {
  const c = typeof config === "string" ? { model: config } : config;
  if (c.model === "use-lite") {
    return createUseLiteEmbedder({ threads: c.threads ?? defaultEmbeddingThreads() });
  }
  if (c.model.startsWith("onnx:")) {
    return createOnnxEmbedder(c.model.slice(5), { batchSize: c.batchSize ?? 32 });
  }
  if (c.model.startsWith("openai:")) {
    return createOpenAiEmbedder({
      model: c.model.slice(7),
      baseUrl: c.baseUrl ?? "https://api.openai.com/v1",
      apiKey: c.apiKey,
      dimensions: c.dimensions,
      batchSize: c.batchSize ?? 64,
      maxInputTokens: c.maxInputTokens ?? 512,
      version: c.version,
      retry: { attempts: 5, baseDelayMs: 500, maxDelayMs: 20_000, timeoutMs: c.timeoutMs ?? 30_000 },
    });
  }
  throw new Error(`unknown embedding model ${c.model}; use use-lite, onnx:<model folder> or openai:<model>.`);
}
