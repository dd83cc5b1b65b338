import { LruMap } from "../lru.js";
import type { Embedder, EmbedOptions } from "./types.js";

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
 * Vectors of document text (a source's sentences, a quoted claim) that one embedder computed for
 * earlier answers, least recently used first out. Popular chunks are retrieved again and again,
 * and the answerability judge, the verifier and the metrics embed the same sentences of them each
 * time: with USE-Lite that was one of the two embedding calls of every answer. Vectors depend only
 * on the text and the embedder, so sharing them across requests changes no answer.
 */
export type TextVectorCache = LruMap<string, number[]>;

/** TEXT_VECTOR_CACHE's default: 8,192 vectors of 512 numbers, about 35 MB; the sentences of a few thousand chunks. */
export const TEXT_VECTOR_CACHE_LIMIT = 8192;
const caches = new WeakMap<Embedder, TextVectorCache>();

/**
 * The text-vector cache shared by the answers one embedder serves (one per embedder object, so a
 * re-index to another model starts empty and never mixes the two models' vectors); none for a
 * limit of 0. The first caller's limit holds for the embedder's life (one per process config).
 */
export function textVectorsOf(embedder: Embedder, limit = TEXT_VECTOR_CACHE_LIMIT): TextVectorCache | undefined {
  if (limit <= 0) {
    return undefined;
  }
  let cache = caches.get(embedder);
  if (!cache) {
    cache = new LruMap<string, number[]>(limit);
    caches.set(embedder, cache);
  }
  return cache;
}

export interface MemoOptions {
  /** Looked up before embedding, and told every new vector except those of `keepOut`. */
  shared?: TextVectorCache | undefined;
  /**
   * Texts not worth sharing: the question. Questions are rarely asked again word for word (the
   * answer cache serves those), and they would push out the sentences that do recur.
   */
  keepOut?: ReadonlySet<string> | undefined;
}

/**
 * An `embed` that remembers what it embedded, for the life of one request: the verifier and the
 * quality metrics of one answer ask for many of the same texts (the answer's claims, the source
 * sentences closest to them), and with USE-Lite on a CPU every text saved is about 20 ms.
 * Only texts not seen before (by this request, or in `shared`) reach `embed`, in one call.
 * @example
 *   const embed = memoizeEmbed((texts) => embedder.embed(texts), { shared: textVectorsOf(embedder) });
 */
export function memoizeEmbed(
  embed: (texts: string[], opts?: EmbedOptions) => Promise<number[][]>,
  { shared, keepOut }: MemoOptions = {},
): MemoEmbed {
  const seen = new Map<string, number[]>();
  const memo = async (texts: string[], opts?: EmbedOptions) => {
    const fresh: string[] = [];
    for (const t of new Set(texts)) {
      if (seen.has(t)) {
        continue;
      }
      const known = shared?.get(t);
      if (known) {
        seen.set(t, known);
      } else {
        fresh.push(t);
      }
    }
    if (fresh.length) {
      const vectors = await embed(fresh, opts);
      fresh.forEach((t, i) => {
        seen.set(t, vectors[i]!);
        if (shared && !keepOut?.has(t)) {
          shared.set(t, vectors[i]!);
        }
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
