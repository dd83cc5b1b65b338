import { z } from "zod";

/** Bounds that keep one request from tying up the service (model denial of service). */
export const ASK_LIMITS = { maxTopK: 50, minContextTokens: 64, maxContextTokens: 128_000 } as const;

export function askRequestSchema(maxQuestionChars: number) {
  return z
    .object({
      question: z
        .string({ error: "question must be a string" })
        .trim()
        .min(1, "question must not be empty")
        .max(maxQuestionChars, `question must be at most ${maxQuestionChars} characters`),
      collection: z.string().trim().min(1).max(128).optional(),
      topK: z.number().int().min(1).max(ASK_LIMITS.maxTopK).optional(),
      maxContextTokens: z.number().int().min(ASK_LIMITS.minContextTokens).max(ASK_LIMITS.maxContextTokens).optional(),
      stream: z.boolean().optional(),
    })
    .strict();
}
export type AskRequest = z.infer<ReturnType<typeof askRequestSchema>>;

export interface Citation {
  n: number;
  documentId: string;
  sourceId: string;
  path: string;
  page: number | null;
  chunkId: string;
  headingPath: string[];
  snippet: string;
}

export interface AskResponse {
  queryId: string;
  answer: string;
  abstained: boolean;
  citations: Citation[];
  verification: {
    method: string;
    sentences: number;
    supported: number;
    removed: number;
    flagged: number;
  };
  usage: { contextTokens: number; contextBudget: number; answerTokens: number; sources: number; encoding: string };
  timings: { retrievalMs: number; generationMs: number; totalMs: number };
}

/** The closed set of API error codes and their HTTP statuses. */
export const ERROR_STATUS = {
  invalid_request: 400,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  embedding_model_mismatch: 409,
  rate_limited: 429,
  internal_error: 500,
  index_not_ready: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string; details?: unknown };
}
