import type { ChunkHit } from "../store/types.js";

/** A retrieved chunk as given to the generator, numbered for `[n]` citations. */
export interface ContextSource {
  n: number;
  hit: ChunkHit;
  /** The text given to the generator: the whole chunk, or its leading sentences when cut to fit. */
  text: string;
  tokens: number;
}

export interface GeneratedAnswer {
  text: string;
  abstained: boolean;
  /** Numbers of the sources the answer cites. */
  cited: number[];
  /** Sentences of the answer with the sources each cites, for verification. */
  sentences: Array<{ text: string; cites: number[] }>;
}

/**
 * Writes an answer from numbered sources. `contextWindow` and `answerReserve` size the default
 * context budget.
 * @example
 *   const answer = await generator.generate({ question, sources });
 */
export interface Generator {
  readonly name: string;
  readonly contextWindow: number;
  readonly answerReserve: number;
  generate(input: { question: string; sources: ContextSource[] }): Promise<GeneratedAnswer>;
}
