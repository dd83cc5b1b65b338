import { createHash } from "node:crypto";

/**
 * Everything that makes two answers to the same question differ. Two requests share cache entries
 * only when every field is equal: another tenant (key), collection set, index generation, embedder,
 * generator model, prompt version or answer option is another cache.
 */
export interface CacheKeyParts {
  /** The API key that asks; null with authentication off. */
  keyId: string | null;
  /** The collections the answer can draw from after the key's scope is applied; null: all. */
  collections: readonly string[] | null;
  generationId: number;
  embedder: string;
  generator: string;
  promptVersion: string;
  /** topK, maxContextTokens, compression, verification, fusion, answerability, guard settings... */
  options: Record<string, unknown>;
}

/** Canonical JSON (sorted keys, undefined dropped) so equal parts always hash equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function cacheKey(parts: CacheKeyParts): string {
  const collections = parts.collections === null ? null : [...new Set(parts.collections)].sort();
  return createHash("sha256").update(canonical({ ...parts, collections })).digest("hex");
}

/**
 * The question as the exact-match path compares it: case, runs of whitespace and closing
 * punctuation do not change what is asked. Nothing else is folded (numbers, negations and names
 * all survive), so equal forms are the same question.
 */
export function normalizeQuestion(q: string): string {
  return q.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim().replace(/[\s?.!]+$/u, "");
}
