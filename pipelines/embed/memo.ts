import type { EmbedOptions } from "./types.js";

/** An `embed` that remembers its texts' vectors, and can be told vectors known already. */
export interface MemoEmbed {
  /** Options apply to the texts not remembered yet (the only ones embedded). */
  (texts: string[], opts?: EmbedOptions): Promise<number[][]>;
  /**
   * Remembers `vector` as `text`'s embedding without computing it: a chunk's stored vector is the
   * embedding of exactly its text (made by the same embedder at ingestion).
   */
  seed(text: string, vector: ArrayLike<number>): void;
}

/**
 * An `embed` that remembers what it embedded, for the life of one request: the verifier and the
 * quality metrics of one answer ask for many of the same texts (the answer's claims, the source
 * sentences closest to them), and with USE-Lite on a CPU every text saved is about 20 ms.
 * Only texts not seen before reach `embed`, in one call.
 * @example
 *   const embed = memoizeEmbed((texts) => embedder.embed(texts));
 */
export function memoizeEmbed(embed: (texts: string[], opts?: EmbedOptions) => Promise<number[][]>): MemoEmbed {
  const seen = new Map<string, number[]>();
  const memo = async (texts: string[], opts?: EmbedOptions) => {
    const fresh = [...new Set(texts.filter((t) => !seen.has(t)))];
    if (fresh.length) {
      const vectors = await embed(fresh, opts);
      fresh.forEach((t, i) => {
        seen.set(t, vectors[i]!);
      });
    }
    return texts.map((t) => seen.get(t)!);
  };
  return Object.assign(memo, {
    seed(text: string, vector: ArrayLike<number>) {
      if (!seen.has(text)) {
        seen.set(text, Array.from(vector));
      }
    },
  });
}
