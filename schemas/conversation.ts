import { z } from "zod";
import { isWellFormedText, notWellFormed } from "./text.js";

/** Turns a request may carry: enough for a long chat, bounded so history cannot be a denial of service. */
export const HISTORY_LIMITS = { maxTurns: 50 } as const;

/**
 * Earlier turns of a conversation (oldest first) for a follow-up question. A turn may be long (an
 * assistant answer); the request body limit bounds the whole.
 */
export function historySchema(maxQuestionChars: number) {
  const maxTurnChars = maxQuestionChars * 8;
  return z
    .array(
      z
        .object({
          role: z.enum(["user", "assistant"], { error: "history[].role must be user or assistant" }),
          content: z
            .string({ error: "history[].content must be a string" })
            .max(maxTurnChars, `history[].content must be at most ${maxTurnChars} characters`)
            .refine(isWellFormedText, notWellFormed("history[].content")),
        })
        .strict(),
    )
    .max(HISTORY_LIMITS.maxTurns, `history must hold at most ${HISTORY_LIMITS.maxTurns} turns`);
}

export const ConversationSchema = z.object({
  question: z.string().describe("The question as the user asked it."),
  rewrittenQuestion: z.string().describe("The standalone question retrieval and generation used."),
  rewritten: z.boolean().describe("False when the question already stood alone."),
  method: z
    .enum(["none", "terms", "llm"])
    .describe("terms: the earlier subject carried over without a model; llm: the chat model rewrote it."),
});
export type Conversation = z.infer<typeof ConversationSchema>;
