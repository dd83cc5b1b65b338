import { createGeneratorTokenizer } from "../generate/tokens.js";
import { HttpStatusError, postJson, type RetryPolicy } from "./http.js";
import type { Embedder } from "./types.js";

export interface OpenAiEmbedderOptions {
  model: string;
  /** Base URL up to and including `/v1`, e.g. http://localhost:11434/v1 for Ollama. */
  baseUrl: string;
  apiKey?: string | undefined;
  /** Requested output size, for models that can shorten their vectors (text-embedding-3-*). */
  dimensions?: number | undefined;
  batchSize: number;
  /** What the model reads; the chunker keeps chunks under it. */
  maxInputTokens: number;
  /** Pins the identity when the server's model name alone does not (a fine-tune, a quantisation). */
  version?: string | undefined;
  retry: RetryPolicy;
}

interface EmbeddingsResponse {
  data?: Array<{ index: number; embedding: number[] }>;
}

/**
 * Any OpenAI-compatible `/v1/embeddings` endpoint: OpenAI, vLLM, Ollama, TEI, LiteLLM. The first
 * call (at start-up) probes the vector size and whether vectors come unit-length, so the
 * identity recorded with the index is what the server really returns.
 */
export async function createOpenAiEmbedder(opts: OpenAiEmbedderOptions): Promise<Embedder> {
  const url = `${opts.baseUrl.replace(/\/+$/, "")}/embeddings`;
  const headers: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
  const tokenizer = createGeneratorTokenizer();

  async function call(input: string[]): Promise<number[][]> {
    const body: Record<string, unknown> = { model: opts.model, input };
    if (opts.dimensions) {
      body.dimensions = opts.dimensions;
    }
    let res: EmbeddingsResponse;
    try {
      res = await postJson<EmbeddingsResponse>(url, body, headers, opts.retry);
    } catch (err) {
      if (err instanceof HttpStatusError && (err.status === 401 || err.status === 403)) {
        throw new Error(`${url} refused the credentials (${err.status}); check EMBEDDING_API_KEY.`, { cause: err });
      }
      throw err;
    }
    const data = res.data;
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new Error(`${url} returned ${data?.length ?? "no"} embeddings for ${input.length} inputs.`);
    }
    return [...data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
  }

  const [probe] = await call(["dimension probe"]);
  if (!probe || probe.length === 0) {
    throw new Error(`${url} returned an empty embedding for model ${opts.model}.`);
  }
  const dimensions = probe.length;
  const normalized = Math.abs(Math.hypot(...probe) - 1) < 1e-3;

  return {
    identity: { provider: "openai", model: opts.model, version: opts.version ?? "api", dimensions, normalized },
    maxInputTokens: opts.maxInputTokens,
    countTokens: (text) => tokenizer.count(text),
    async embed(texts) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += opts.batchSize) {
        const vectors = await call(texts.slice(i, i + opts.batchSize).map((t) => (t.trim() === "" ? " " : t)));
        for (const v of vectors) {
          // A server that switched models under us must not write mixed vectors into the index.
          if (v.length !== dimensions) {
            throw new Error(`${url} returned a ${v.length}-dimensional vector; the index expects ${dimensions}.`);
          }
        }
        out.push(...vectors);
      }
      return out;
    },
    close: async () => {},
  };
}
