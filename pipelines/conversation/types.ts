/** One earlier turn of a conversation, as chat clients send it (system turns are dropped before this). */
export interface Turn {
  role: "user" | "assistant";
  content: string;
}

/**
 * The question retrieval and generation run on. `rewritten` is false when the question already
 * stood alone (no history, or nothing to carry over); `method` says who rewrote it.
 */
export interface Rewrite {
  question: string;
  rewritten: boolean;
  method: "none" | "terms" | "llm";
}

/**
 * Turns a follow-up ("and who designed it?") into a standalone question from the conversation
 * before it, so retrieval sees the subject the user no longer repeats.
 */
export interface QuestionRewriter {
  readonly name: string;
  rewrite(question: string, history: readonly Turn[], signal?: AbortSignal): Promise<Rewrite>;
}
