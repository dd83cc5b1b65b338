import { z } from "zod";
import { ConversationSchema, historySchema } from "./conversation.js";
import { isWellFormedText, notWellFormed } from "./text.js";

/** A collection's name in a request: /ask's `collection` and the MCP tools' argument. */
export const CollectionNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .refine(isWellFormedText, notWellFormed("collection"));

/** Bounds that keep one request from tying up the service (model denial of service). */
export const ASK_LIMITS = { maxTopK: 50, minContextTokens: 64, maxContextTokens: 128_000 } as const;

export function askRequestSchema(maxQuestionChars: number) {
  return z
    .object({
      question: z
        .string({ error: "question must be a string" })
        .trim()
        .min(1, "question must not be empty")
        .max(maxQuestionChars, `question must be at most ${maxQuestionChars} characters`)
        .refine(isWellFormedText, notWellFormed("question")),
      collection: CollectionNameSchema.optional().describe("Answer only from this collection."),
      topK: z
        .number()
        .int()
        .min(1)
        .max(ASK_LIMITS.maxTopK)
        .optional()
        .describe("Chunks to re-rank and pack (DEFAULT_TOP_K)."),
      maxContextTokens: z
        .number()
        .int()
        .min(ASK_LIMITS.minContextTokens)
        .max(ASK_LIMITS.maxContextTokens)
        .optional()
        .describe("Token budget for the sources; capped by the generator's window minus prompt and answer reserve."),
      stream: z
        .boolean()
        .optional()
        .describe("Answer with server-sent events (also chosen by Accept: text/event-stream)."),
      metrics: z
        .boolean()
        .optional()
        .describe(
          "Compute the quality metrics before answering and return them; otherwise they are computed after (GET /queries/{queryId}/metrics).",
        ),
      reference: z
        .string({ error: "reference must be a string" })
        .trim()
        .min(1, "reference must not be empty")
        .max(maxQuestionChars * 4, `reference must be at most ${maxQuestionChars * 4} characters`)
        .refine(isWellFormedText, notWellFormed("reference"))
        .optional()
        .describe("A reference (ground-truth) answer: the metrics then include contextRecall and answerCorrectness."),
      history: historySchema(maxQuestionChars)
        .optional()
        .describe(
          "Earlier turns, oldest first: a follow-up question is rewritten into a standalone one from them before retrieval.",
        ),
      cache: z
        .boolean()
        .optional()
        .describe("false: answer fresh and do not consult the answer cache (as Cache-Control: no-cache)."),
      compress: z
        .number()
        .gt(0)
        .max(1)
        .optional()
        .describe(
          "Keep this share of the packed sources' tokens, dropping the sentences with least evidence (COMPRESS_RATIO; 1: off).",
        ),
    })
    .strict();
}
export type AskRequest = z.infer<ReturnType<typeof askRequestSchema>>;

export const CitationSchema = z.object({
  n: z.int().min(1).describe("The number the answer cites it by, as [n]."),
  documentId: z.string(),
  sourceId: z.string(),
  path: z.string().describe("Path of the document inside its watched folder."),
  page: z.int().nullable().describe("PDF page, null for other formats."),
  chunkId: z.string(),
  headingPath: z.array(z.string()),
  snippet: z.string().describe("The start of the text the generator was given (at most 300 characters)."),
  textLayer: z
    .enum(["native", "ocr"])
    .optional()
    .describe(
      "For a PDF page: `ocr` when its text was recognised from a scanned image (it may hold OCR errors), `native` when it came from the PDF's text layer.",
    ),
});
export type Citation = z.infer<typeof CitationSchema>;

export const SentenceCheckSchema = z.object({
  text: z.string().describe("The sentence without its citation markers."),
  status: z.enum(["kept", "moved", "removed", "flagged"]),
  claim: z
    .boolean()
    .describe("False for the abstention phrase and sentences with no content words; those are not checked."),
  citedBefore: z.array(z.int()),
  cites: z.array(z.int()),
  unknownCites: z.array(z.int()).describe("Cited numbers that were not among the sources given."),
  lexical: z.number().describe("IDF-weighted share of the sentence's content words found in the source."),
  semantic: z
    .number()
    .nullable()
    .describe("Best embedding similarity to a sentence of the source, when it was needed."),
  missing: z.array(z.string()).describe("Numbers and names the sentence states that the source does not."),
  reason: z.string(),
});

export const VerificationSchema = z.object({
  method: z.string().describe("lexical+semantic, lexical, or none when the answer abstained before verification."),
  mode: z.enum(["remove", "flag"]),
  sentences: z.int(),
  supported: z.int(),
  kept: z.int(),
  moved: z.int(),
  removed: z.int(),
  flagged: z.int(),
  citationsRemoved: z.int(),
  citationsNotGiven: z.int(),
  supportedShare: z.number(),
  details: z.array(SentenceCheckSchema),
});

/**
 * RAGAS-style quality of one answer, each in [0, 1] (null when it cannot be computed, e.g. an
 * abstained answer has no claims to be faithful or not). Formulas: README "Quality metrics".
 */
export const QueryMetricsSchema = z.object({
  method: z.string().describe("embedding+lexical (default) or llm-judge:<model>."),
  faithfulness: z.number().nullable().describe("Share of answer claims supported by the retrieved context."),
  answerRelevancy: z.number().nullable().describe("How well the answer addresses the question."),
  contextPrecision: z
    .number()
    .nullable()
    .describe("Rank-weighted share of packed sources that are relevant to the question."),
  contextUtilisation: z
    .number()
    .nullable()
    .describe("Context precision judged against the answer instead of a reference."),
  contextRecall: z
    .number()
    .nullable()
    .describe("Share of the reference answer's claims found in the context; null without a reference."),
  answerCorrectness: z
    .number()
    .nullable()
    .describe("Agreement of the answer with the reference answer; null without a reference."),
});
export type QueryMetrics = z.infer<typeof QueryMetricsSchema>;

/**
 * What the prompt-injection screen found (pipelines/guard/injection.ts). Flagged sources stayed in
 * the context as delimited data (INJECTION_MODE=flag) or were left out (exclude).
 */
export const GuardReportSchema = z.object({
  mode: z.enum(["flag", "exclude"]),
  questionFlagged: z.boolean(),
  questionReasons: z.array(z.string()),
  flaggedSources: z
    .array(z.object({ n: z.int(), documentId: z.string(), chunkId: z.string(), reasons: z.array(z.string()) }))
    .describe("Sources given to the generator (numbered as cited) that contain instruction-like text."),
  excluded: z
    .array(z.object({ documentId: z.string(), chunkId: z.string(), reasons: z.array(z.string()) }))
    .describe("Retrieved chunks left out of the context because they were flagged (INJECTION_MODE=exclude)."),
  answerLinksRemoved: z.int().describe("Images and external links removed from the answer (untrusted output)."),
  piiMasked: z.int().describe("Personal data items masked in the answer and snippets (PII_MASK_ANSWERS)."),
});
export type GuardReport = z.infer<typeof GuardReportSchema>;

export const AskResponseSchema = z.object({
  queryId: z.uuid(),
  generation: z.int().describe("The index generation that answered (changes once, at a re-index switch)."),
  answer: z.string(),
  abstained: z.boolean(),
  abstainReason: z
    .string()
    .optional()
    .describe("Set when the answerability judge or verification made the answer abstain."),
  answerability: z
    .object({ score: z.number(), threshold: z.number() })
    .optional()
    .describe(
      "The answerability judge's probability that the sources answer the question; below threshold it abstains.",
    ),
  citations: z.array(CitationSchema),
  guard: GuardReportSchema.optional().describe("Prompt-injection screening of the question and the retrieved chunks."),
  conversation: ConversationSchema.optional().describe(
    "Set when the request carried history: the standalone question that was answered.",
  ),
  verification: VerificationSchema,
  metrics: QueryMetricsSchema.optional().describe("RAGAS-style quality of this answer, also stored in the query log."),
  generator: z.object({
    name: z.string(),
    model: z.string().describe("The model that wrote the answer, after any fallback."),
    fallbacks: z.array(z.object({ model: z.string(), error: z.string() })),
  }),
  reranker: z.string(),
  usage: z.object({
    contextTokens: z.int().describe("Tokens of the sources as sent, delimiters included; never over contextBudget."),
    contextBudget: z.int(),
    answerTokens: z.int(),
    sources: z.int().describe("Chunks given to the generator."),
    candidates: z.int().describe("Chunks retrieved before re-ranking."),
    droppedSources: z.int().describe("Re-ranked chunks that did not fit the budget."),
    encoding: z.string().describe("The tokenizer that counted: cl100k_base, o200k_base, or gguf:<file>."),
    promptTokens: z.int().optional().describe("As reported by the model API."),
    completionTokens: z.int().optional().describe("As reported by the model API."),
    costUsd: z
      .number()
      .optional()
      .describe("Priced by the model's entry in the price table; 0 for the extractive generator and cache hits."),
    compression: z
      .object({ ratio: z.number(), tokensBefore: z.int(), tokensAfter: z.int(), sentencesDropped: z.int() })
      .optional()
      .describe("Context compression: tokens of the packed sources before and after."),
  }),
  timings: z.object({
    retrievalMs: z.number(),
    rerankMs: z.number(),
    generationMs: z.number(),
    verificationMs: z.number(),
    metricsMs: z.number().optional().describe("Computing the quality metrics (an LLM judge's call included)."),
    totalMs: z.number(),
  }),
  promptVersion: z
    .string()
    .optional()
    .describe("The answer prompt used (prompts/answer/<version>.md), or none for the extractive generator."),
  cache: z
    .object({
      hit: z.boolean(),
      similarity: z.number().nullable(),
      ageMs: z.number().nullable(),
      bypass: z.string().optional(),
    })
    .optional()
    .describe("Whether the answer cache answered, how close the question was to the cached one, and the answer's age."),
});
export type AskResponse = z.infer<typeof AskResponseSchema>;

/** A packed source as the `retrieval` event lists it, numbered as the generator sees it. */
export const RetrievedSourceSchema = CitationSchema.omit({ snippet: true }).extend({
  score: z.number().describe("The reranker's score."),
  tokens: z.int(),
});
export type RetrievedSource = z.infer<typeof RetrievedSourceSchema>;

/** The closed set of API error codes and their HTTP statuses. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  embedding_model_mismatch: 409,
  reindex_in_progress: 409,
  rate_limited: 429,
  budget_exceeded: 429,
  internal_error: 500,
  service_unavailable: 503,
  index_not_ready: 503,
  overloaded: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    requestId: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const ReindexRequestSchema = z
  .object({
    embeddingModel: z
      .string()
      .regex(/^(use-lite|onnx:.+|openai:.+)$/, "must be use-lite, onnx:<model folder> or openai:<model>")
      .optional(),
  })
  .strict();
