import type { z } from "zod";
import type { AskResponseSchema, CitationSchema, VerificationSchema } from "../../schemas/api.js";

// Examples for the OpenAPI document (tests/openapi-contract.test.ts checks each against its schema).

export const EXAMPLE_REQUEST_ID = "0f8b6c1e-3c1a-4d2e-9a51-7f3b2d0c9e41";
export const EXAMPLE_DOCUMENT_ID = "6f1d2c3b-8e4a-4b5c-9d6e-7f8a9b0c1d2e";
export const EXAMPLE_QUERY_ID = "3c9e4f0a-1b2d-4e5f-8a7b-6c5d4e3f2a1b";

export const exampleCitation: z.input<typeof CitationSchema> = {
  n: 1,
  documentId: EXAMPLE_DOCUMENT_ID,
  sourceId: "docs",
  path: "handbook/leave.md",
  page: null,
  chunkId: "6f1d2c3b-8e4a-4b5c-9d6e-7f8a9b0c1d2e:3",
  headingPath: ["Handbook", "Leave"],
  snippet: "Employees accrue 25 days of paid leave per calendar year, pro rata for part-time contracts.",
};

export const exampleVerification: z.input<typeof VerificationSchema> = {
  method: "lexical+semantic",
  mode: "remove",
  sentences: 1,
  supported: 1,
  kept: 1,
  moved: 0,
  removed: 0,
  flagged: 0,
  citationsRemoved: 0,
  citationsNotGiven: 0,
  supportedShare: 1,
  details: [
    {
      text: "Employees accrue 25 days of paid leave per year.",
      status: "kept",
      claim: true,
      citedBefore: [1],
      cites: [1],
      unknownCites: [],
      lexical: 0.92,
      semantic: null,
      missing: [],
      reason: "supported by [1]",
    },
  ],
};

export const exampleAskResponse: z.input<typeof AskResponseSchema> = {
  queryId: EXAMPLE_QUERY_ID,
  generation: 1,
  answer: "Employees accrue 25 days of paid leave per year [1].",
  abstained: false,
  citations: [exampleCitation],
  verification: exampleVerification,
  generator: { name: "extractive", model: "extractive", fallbacks: [] },
  reranker: "lexical",
  usage: {
    contextTokens: 412,
    contextBudget: 3000,
    answerTokens: 14,
    sources: 4,
    candidates: 24,
    droppedSources: 0,
    encoding: "cl100k_base",
    costUsd: 0,
  },
  timings: { retrievalMs: 18.2, rerankMs: 2.1, generationMs: 5.4, verificationMs: 3.3, totalMs: 31.6 },
  cache: { hit: false, similarity: null, ageMs: null },
};
