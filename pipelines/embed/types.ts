/**
 * Everything that makes two embeddings comparable. Two identities that differ in any field must
 * never be mixed in one index: the generation records this and queries are refused on mismatch.
 */
export interface EmbedderIdentity {
  provider: string;
  model: string;
  /** Package version or a hash of the weights: whatever changes when the vectors would. */
  version: string;
  dimensions: number;
  normalized: boolean;
}

/**
 * Turns text into vectors. Loaded once per process.
 * @example
 *   const embedder = await createEmbedder("use-lite");
 *   const [v] = await embedder.embed(["what is ownership?"]);
 */
export interface Embedder {
  readonly identity: EmbedderIdentity;
  /** Tokens (in the embedder's own tokenizer) past which the model ignores input. */
  readonly maxInputTokens: number;
  countTokens(text: string): number;
  embed(texts: string[], opts?: EmbedOptions): Promise<number[][]>;
  close(): Promise<void>;
}

export interface EmbedOptions {
  /**
   * Work nobody waits for (an answer's quality metrics, computed after its response): queued behind
   * questions rather than ahead of them. Embedders without a queue ignore it.
   */
  background?: boolean | undefined;
  /**
   * A later step of an answer already under way (after its retrieval): ahead of new questions, so
   * answers in flight finish first. Embedders without a queue ignore it.
   */
  followUp?: boolean | undefined;
}

/** A stable string form of an identity, used as a cache and comparison key. */
export function embedderKey(id: EmbedderIdentity): string {
  return `${id.provider}:${id.model}@${id.version}/${id.dimensions}${id.normalized ? "/unit" : ""}`;
}
