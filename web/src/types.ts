/** The parts of the API's shapes (schemas/api.ts) this app reads. */
export interface Citation {
  n: number;
  documentId: string;
  sourceId: string;
  path: string;
  page: number | null;
  chunkId: string;
  headingPath: string[];
  snippet?: string;
}

export interface SentenceCheck {
  text: string;
  status: "kept" | "moved" | "removed" | "flagged";
  claim: boolean;
  citedBefore: number[];
  cites: number[];
  reason: string;
}

export interface Verification {
  method: string;
  mode: string;
  sentences: number;
  supported: number;
  kept: number;
  moved: number;
  removed: number;
  flagged: number;
  supportedShare: number;
  details: SentenceCheck[];
}

export interface AskResponse {
  queryId: string;
  answer: string;
  abstained: boolean;
  abstainReason?: string;
  answerability?: { score: number; threshold: number };
  citations: Citation[];
  verification: Verification;
  timings: { totalMs: number };
}
