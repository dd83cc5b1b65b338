import type { ChunkHit } from "../store/types.js";
import type { GeneratorTokenizer } from "./tokens.js";

/** A retrieved chunk as given to the generator, numbered for `[n]` citations. */
export interface ContextSource {
  n: number;
  hit: ChunkHit;
  /** The text given to the generator: the whole chunk, or its leading sentences when cut to fit. */
  text: string;
  /** Tokens of the source as the prompt carries it, delimiters included. */
  tokens: number;
}

/** One sentence of an answer and the sources it cites; offsets into the answer text. */
export interface AnswerSentence {
  text: string;
  cites: number[];
  start?: number;
  end?: number;
}

export interface GeneratedAnswer {
  text: string;
  abstained: boolean;
  /** Numbers of the sources the answer cites. */
  cited: number[];
  /** Sentences of the answer with the sources each cites, for verification. */
  sentences: AnswerSentence[];
  /** The model that wrote the answer, after any fallback (the generator's name when it has none). */
  model: string;
  /** Models that failed before `model` answered, in order, with why. */
  fallbacks: Array<{ model: string; error: string }>;
  /** What the model API reported, when it reports it. */
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
}

export interface GenerateInput {
  question: string;
  sources: ContextSource[];
  /** Receives answer text as the model writes it; generators that cannot stream never call it. */
  onDelta?: ((text: string) => void) | undefined;
  /** Called when text already passed to `onDelta` is void: a fallback model starts over. */
  onRestart?: ((reason: string) => void) | undefined;
  /** Aborts generation (the client went away). */
  signal?: AbortSignal | undefined;
}

/**
 * Writes an answer from numbered sources. `contextWindow`, `answerReserve` and `promptTokens` size
 * the default context budget; `renderSource` is how a source appears in the prompt, so packing
 * counts exactly what is sent.
 * @example
 *   const answer = await generator.generate({ question, sources });
 */
export interface Generator {
  readonly name: string;
  /** The model it asks (with fallbacks, the chain: gpt-4o>gpt-4o-mini>extractive); the answer cache keys on it. */
  readonly model?: string;
  /** The prompt it sends, e.g. `answer/v1` (prompts/); unset for generators that use none (extractive). */
  readonly promptVersion?: string;
  readonly contextWindow: number;
  readonly answerReserve: number;
  readonly tokenizer: GeneratorTokenizer;
  /** Tokens of the prompt without its sources: instructions, the question, chat framing. */
  promptTokens(question: string): number;
  /** A source as the prompt carries it. */
  renderSource(source: { n: number; hit: ChunkHit; text: string }): string;
  generate(input: GenerateInput): Promise<GeneratedAnswer>;
  close?(): Promise<void>;
}
