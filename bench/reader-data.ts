import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { ContextSource } from "../pipelines/generate/types.js";

/** Where bench/reader-collect.ts saves what /ask gave the reader (gitignored: bench/out/). */
export const CACHE_DIR = new URL("./out/clapnq-cache", import.meta.url).pathname;

/** One ClapNQ question with the sources /ask packed for it (bench/reader-collect.ts). */
export interface CachedQuestion {
  id: string;
  question: string;
  kind: "answerable" | "unanswerable";
  half: "A" | "B";
  /** The file the gold passage was indexed as (a citation of it has this basename). */
  goldFile: string;
  /** Per annotator: the reference answer and the gold answer-bearing sentences. */
  gold: Array<{ answer: string; selected: string[] }>;
  /** The answerability judge's probability over the packed sources. */
  answerability: number;
  /** What the generator was given, in order. */
  sources: ContextSource[];
}

export function readCachedQuestions(): CachedQuestion[] {
  const file = `${CACHE_DIR}/questions.json`;
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run \`npm run bench:reader-collect\` first`);
  }
  return JSON.parse(readFileSync(file, "utf8")) as CachedQuestion[];
}

// Vectors as one Float32 buffer beside a JSON list of their texts: 20,000 of USE-Lite's 512
// dimensions are 40 MB this way, several times that as JSON numbers.
export function saveVectors(vectors: Map<string, number[]>): void {
  const texts = [...vectors.keys()];
  const dims = vectors.values().next().value?.length ?? 0;
  const buf = new Float32Array(texts.length * dims);
  for (const [i, t] of texts.entries()) {
    buf.set(vectors.get(t)!, i * dims);
  }
  writeFileSync(`${CACHE_DIR}/vectors.json`, JSON.stringify({ dims, texts }));
  writeFileSync(`${CACHE_DIR}/vectors.f32`, Buffer.from(buf.buffer));
}

export function loadVectors(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!existsSync(`${CACHE_DIR}/vectors.json`)) {
    return out;
  }
  const { dims, texts } = JSON.parse(readFileSync(`${CACHE_DIR}/vectors.json`, "utf8")) as {
    dims: number;
    texts: string[];
  };
  const raw = readFileSync(`${CACHE_DIR}/vectors.f32`);
  const buf = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  for (const [i, t] of texts.entries()) {
    out.set(t, Array.from(buf.subarray(i * dims, (i + 1) * dims)));
  }
  return out;
}
