import type { QueryMetrics } from "../../schemas/api.js";
import type { ContextSource } from "../generate/types.js";
import type { SentenceCheck } from "../verify/types.js";

export type { QueryMetrics };

/** What one answer's quality is computed from; nothing here needs the database or HTTP. */
export interface MetricsInput {
  question: string;
  /** The final, verified answer as returned (citation markers are stripped before use). */
  answer: string;
  abstained: boolean;
  /** The verifier's sentence checks of the generated answer (`verification.details`). */
  details: SentenceCheck[];
  /** The packed sources in rank order, as the generator saw them. */
  sources: ContextSource[];
  /** A reference (ground-truth) answer; enables contextRecall and answerCorrectness. */
  reference?: string | undefined;
}

/** One call's verdicts from an LLM judge; each array follows the order of the texts it was given. */
export interface LlmJudgement {
  /** Per answer claim: fully supported by the sources. */
  claims: boolean[];
  /** Per source, in rank order: holds information that helps answer the question. */
  sources: boolean[];
  /** How directly and completely the answer addresses the question, in [0, 1]; null when it abstained. */
  answerRelevancy: number | null;
}

/**
 * Asks a language model for the judgements the default method makes from embeddings and words
 * (faithfulness, answer relevancy, source relevance). `name` is `llm-judge:<model>`, the method
 * the metrics then report.
 * @example
 *   const verdict = await judge.judge({ question, claims: ["Tea is steeped at 80 °C."], sources: [text] });
 */
export interface LlmJudge {
  readonly name: string;
  judge(
    input: { question: string; claims: string[]; sources: string[]; abstained: boolean },
    signal?: AbortSignal,
  ): Promise<LlmJudgement>;
}

export interface MetricsOptions {
  /** The query's embedder (unit vectors); without it only lexical evidence counts. */
  embed?: ((texts: string[]) => Promise<number[][]>) | undefined;
  /** When set, faithfulness, answer relevancy and (without a reference) context precision are the judge's. */
  judge?: LlmJudge | undefined;
  /** Hears a judge failure; the metrics then fall back to the default method. */
  onJudgeError?: ((err: unknown) => void) | undefined;
  signal?: AbortSignal | undefined;
}
