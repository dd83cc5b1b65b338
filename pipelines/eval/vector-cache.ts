import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { embedderKey, type Embedder } from "../embed/index.js";

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export interface VectorCacheOptions {
  /** Folder of the cache files (`<name>-<embedder hash>.f32` and `.json`). */
  dir: string;
  name: string;
  onProgress?: (done: number, total: number) => void;
}

// Several of the embedder's own batches, so each of its threads gets work.
const BATCH = 64;

/**
 * Embeds texts with a file cache keyed by text hash and embedder identity: an append-only float32
 * file and a JSON list of hashes, so an interrupted run resumes where it stopped and a corpus is
 * embedded once per embedder whatever else changes (chunker code, database, fusion).
 */
export async function embedCached(
  embedder: Embedder,
  texts: readonly string[],
  opts: VectorCacheOptions,
): Promise<Map<string, Float32Array>> {
  mkdirSync(opts.dir, { recursive: true });
  const base = `${opts.dir}/${opts.name}-${sha256(embedderKey(embedder.identity)).slice(0, 12)}`;
  const dims = embedder.identity.dimensions;
  const hashes: string[] = existsSync(`${base}.json`)
    ? (JSON.parse(readFileSync(`${base}.json`, "utf8")) as string[])
    : [];
  const vectors = new Map<string, Float32Array>();
  if (hashes.length > 0 && existsSync(`${base}.f32`)) {
    const buf = readFileSync(`${base}.f32`);
    const all = new Float32Array(
      buf.buffer,
      buf.byteOffset,
      Math.min(hashes.length * dims, Math.floor(buf.byteLength / 4)),
    );
    hashes.forEach((h, i) => {
      if ((i + 1) * dims <= all.length) {
        vectors.set(h, all.slice(i * dims, (i + 1) * dims));
      }
    });
    hashes.length = vectors.size;
    // A run stopped between writing vectors and their hashes leaves vectors nobody names.
    truncateSync(`${base}.f32`, hashes.length * dims * 4);
  } else {
    hashes.length = 0;
  }
  const missing = [...new Map(texts.map((t) => [sha256(t), t])).entries()].filter(([h]) => !vectors.has(h));
  const batches: Array<Array<[string, string]>> = [];
  for (let i = 0; i < missing.length; i += BATCH) {
    batches.push(missing.slice(i, i + BATCH));
  }
  let done = 0;
  const record = (batch: Array<[string, string]>, flat: Float32Array) => {
    appendFileSync(`${base}.f32`, Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength));
    batch.forEach(([h], j) => {
      hashes.push(h);
      vectors.set(h, flat.slice(j * dims, (j + 1) * dims));
    });
    writeFileSync(`${base}.json`, JSON.stringify(hashes));
    done += batch.length;
    opts.onProgress?.(done, missing.length);
  };
  // The embedder spreads a batch over its own threads (EMBEDDING_THREADS), so batches go one at a time.
  for (const batch of batches) {
    const out = await embedder.embed(batch.map(([, t]) => t));
    const flat = new Float32Array(batch.length * dims);
    out.forEach((v, j) => {
      flat.set(v, j * dims);
    });
    record(batch, flat);
  }
  return vectors;
}
