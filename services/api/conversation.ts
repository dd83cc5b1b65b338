import type { Context } from "hono";
import { createTermsRewriter } from "../../pipelines/conversation/index.js";
import type { Rewrite } from "../../pipelines/conversation/types.js";
import type { AskRequest, AskResponse } from "../../schemas/api.js";
import type { AppEnv } from "./context.js";

const termsRewriter = createTermsRewriter();

/** The question as asked and the standalone one the answer path runs on. */
export interface AskedQuestion extends Rewrite {
  original: string;
  /** Whether the request carried history (the response then says how it was read). */
  withHistory: boolean;
}

/**
 * Makes a follow-up standalone before retrieval (README "Conversations"): the deps' rewriter
 * (the chat model with GENERATOR=openai), else the deterministic one. Without history the
 * question is used as it is and nothing is called.
 */
export async function standaloneQuestion(
  c: Context<AppEnv>,
  req: Pick<AskRequest, "question" | "history">,
): Promise<AskedQuestion> {
  const history = req.history ?? [];
  if (!history.length) {
    return { original: req.question, question: req.question, rewritten: false, method: "none", withHistory: false };
  }
  const rewriter = c.var.deps.rewriter ?? termsRewriter;
  const r = await rewriter.rewrite(req.question, history, c.req.raw.signal);
  return { ...r, original: req.question, withHistory: true };
}

/** Adds to a finished response which question was answered, when history was given. */
export function withConversation(asked: AskedQuestion): (r: AskResponse) => AskResponse {
  if (!asked.withHistory) {
    return (r) => r;
  }
  const conversation = {
    question: asked.original,
    rewrittenQuestion: asked.question,
    rewritten: asked.rewritten,
    method: asked.method,
  };
  return (r) => ({ ...r, conversation });
}
