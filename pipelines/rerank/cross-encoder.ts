import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { orderBy, retrievalPrior, type Reranker } from "./types.js";

// Not a dependency, as for the ONNX embedder (pipelines/embed/onnx.ts): onnxruntime-node is large.
const PACKAGE = "@huggingface/transformers";
const INSTALL_HINT =
  `RERANKER=onnx-cross-encoder:<folder> needs ${PACKAGE}, which is not installed. Install it with ` +
  `\`ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install ${PACKAGE}\`.`;

interface Tensor {
  tolist(): number[][];
}
interface Transformers {
  env: Record<string, unknown>;
  AutoTokenizer: { from_pretrained(name: string, o: Record<string, unknown>): Promise<Tokenizer> };
  AutoModelForSequenceClassification: {
    from_pretrained(
      name: string,
      o: Record<string, unknown>,
    ): Promise<(inputs: unknown) => Promise<{ logits: Tensor }>>;
  };
}
type Tokenizer = (
  texts: string[],
  o: { text_pair: string[]; padding: boolean; truncation: boolean; max_length: number },
) => unknown;

export interface CrossEncoderOptions {
  /** Weight of the fused retrieval score; a cross-encoder reads both texts, so it gets most of the say. */
  priorWeight?: number;
  batchSize?: number;
}

/**
 * A local cross-encoder (e.g. ms-marco-MiniLM-L-6-v2 exported to ONNX: config.json, tokenizer.json,
 * onnx/model.onnx) that reads question and chunk together and scores relevance.
 */
export async function createCrossEncoderReranker(folder: string, opts: CrossEncoderOptions = {}): Promise<Reranker> {
  let transformers: Transformers;
  try {
    transformers = (await import(/* @vite-ignore */ PACKAGE as string)) as Transformers;
  } catch (cause) {
    throw new Error(INSTALL_HINT, { cause });
  }
  const dir = resolve(folder);
  for (const file of ["config.json", "tokenizer.json"]) {
    if (!existsSync(join(dir, file))) {
      throw new Error(`${dir} is not a model folder: ${file} is missing.`);
    }
  }
  const weights = ["onnx/model.onnx", "onnx/model_quantized.onnx"].find((f) => existsSync(join(dir, f)));
  if (!weights) {
    throw new Error(`${dir} has no ONNX weights (expected onnx/model.onnx).`);
  }
  // Never reach for the hub: a missing file must be an error, not a download.
  transformers.env.allowRemoteModels = false;
  transformers.env.localModelPath = dirname(dir);
  const load = { local_files_only: true };
  const tokenizer = await transformers.AutoTokenizer.from_pretrained(basename(dir), load);
  const model = await transformers.AutoModelForSequenceClassification.from_pretrained(basename(dir), {
    ...load,
    dtype: weights.endsWith("_quantized.onnx") ? "q8" : "fp32",
  });
  const priorWeight = opts.priorWeight ?? 0.3;
  const batchSize = opts.batchSize ?? 16;

  return {
    name: `onnx-cross-encoder:${basename(dir)}`,
    async rerank(question, hits) {
      const logits: number[] = [];
      for (let i = 0; i < hits.length; i += batchSize) {
        const passages = hits.slice(i, i + batchSize).map((h) => [...h.headingPath, h.text].join("\n"));
        const inputs = tokenizer(
          passages.map(() => question),
          { text_pair: passages, padding: true, truncation: true, max_length: 512 },
        );
        // One logit for relevance models; with two labels the last is "relevant".
        for (const row of (await model(inputs)).logits.tolist()) {
          logits.push(row.at(-1)!);
        }
      }
      const relevance = retrievalPrior(hits.map((h, i) => ({ ...h, score: logits[i]! })));
      const prior = retrievalPrior(hits);
      return orderBy(
        hits,
        hits.map((_, i) => priorWeight * prior[i]! + (1 - priorWeight) * relevance[i]!),
      );
    },
  };
}
