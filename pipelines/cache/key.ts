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
  if (Array.isArray(value)) {
    return `[${value.map(canonical).join(",")}]`;
  }
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
  return createHash("sha256")
    .update(canonical({ ...parts, collections }))
    .digest("hex");
}

/**
 * The question as the exact-match path compares it: only Unicode form and runs of whitespace are
 * folded. Case and punctuation are not: bench/cache.ts found an upper-cased question embeds
 * differently enough that a fresh answer cited other passages, so a re-cased question takes the
 * semantic path with its guard and retrieval check instead.
 */
export function normalizeQuestion(q: string): string {
  return q.normalize("NFKC").replace(/\s+/g, " ").trim();
}
