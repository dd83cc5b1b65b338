import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Embedder } from "./types.js";

// Not a dependency: onnxruntime-node is large and needs ONNXRUNTIME_NODE_INSTALL_CUDA=skip to
// install offline, so only users who configure onnx:<folder> install it.
const PACKAGE = "@huggingface/transformers";
const INSTALL_HINT =
  `EMBEDDING_MODEL=onnx:<folder> needs ${PACKAGE}, which is not installed. Install it with ` +
  `\`ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install ${PACKAGE}\`.`;

interface FeatureExtractor {
  (texts: string[], opts: { pooling: "mean" | "cls"; normalize: boolean }): Promise<{ tolist(): number[][] }>;
  tokenizer: (text: string) => { input_ids: { dims: number[] } };
}

/**
 * A local sentence-transformers model exported to ONNX (config.json, tokenizer.json and
 * onnx/model.onnx in one folder), run by @huggingface/transformers with remote models disabled.
 * The identity's version is a hash of the ONNX weights.
 */
export async function createOnnxEmbedder(folder: string, opts: { batchSize: number }): Promise<Embedder> {
  const dir = resolve(folder);
  for (const file of ["config.json", "tokenizer.json"]) {
    if (!existsSync(join(dir, file))) {
      throw new Error(`${dir} is not a model folder: ${file} is missing.`);
    }
  }
  const weights = ["onnx/model.onnx", "onnx/model_quantized.onnx", "model.onnx"]
    .map((f) => join(dir, f))
    .find(existsSync);
  if (!weights) {
    throw new Error(`${dir} has no ONNX weights (expected onnx/model.onnx).`);
  }

  let transformers: {
    env: Record<string, unknown>;
    pipeline: (task: string, model: string, opts: Record<string, unknown>) => Promise<FeatureExtractor>;
  };
  try {
    transformers = await import(/* @vite-ignore */ PACKAGE as string);
  } catch (cause) {
    throw new Error(INSTALL_HINT, { cause });
  }
  // Never reach for the hub: a missing file must be an error, not a download.
  transformers.env.allowRemoteModels = false;
  transformers.env.localModelPath = dirname(dir);
  const quantized = weights.endsWith("_quantized.onnx");
  const extractor = await transformers.pipeline("feature-extraction", basename(dir), {
    local_files_only: true,
    dtype: quantized ? "q8" : "fp32",
  });
  const pooling = poolingOf(dir);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
    max_position_embeddings?: number;
    _name_or_path?: string;
  };
  const [probe] = (await extractor(["dimension probe"], { pooling, normalize: true })).tolist();

  return {
    identity: {
      provider: "onnx",
      model: config._name_or_path || basename(dir),
      version: `sha256:${(await hashFile(weights)).slice(0, 16)}`,
      dimensions: probe!.length,
      normalized: true,
    },
    maxInputTokens: Math.min(config.max_position_embeddings ?? 512, 512),
    countTokens: (text) => extractor.tokenizer(text).input_ids.dims.at(-1) ?? 0,
    async embed(texts) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += opts.batchSize) {
        out.push(...(await extractor(texts.slice(i, i + opts.batchSize), { pooling, normalize: true })).tolist());
      }
      return out;
    },
    close: async () => {},
  };
}

/** sentence-transformers records its pooling in 1_Pooling/config.json; mean is the common default. */
function poolingOf(dir: string): "mean" | "cls" {
  const file = join(dir, "1_Pooling", "config.json");
  if (!existsSync(file)) {
    return "mean";
  }
  const cfg = JSON.parse(readFileSync(file, "utf8")) as { pooling_mode_cls_token?: boolean };
  return cfg.pooling_mode_cls_token ? "cls" : "mean";
}

function hashFile(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("end", () => res(h.digest("hex")))
      .on("error", rej);
  });
}
