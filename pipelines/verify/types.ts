/** What happened to one sentence of the answer. */
export type SentenceStatus = "kept" | "moved" | "removed" | "flagged";

export interface SentenceCheck {
  text: string;
  status: SentenceStatus;
  /** Whether it states something to check; the abstention phrase and bare connectives do not. */
  claim: boolean;
  /** Sources it cited as generated, and after verification. */
  citedBefore: number[];
  cites: number[];
  /** Cited numbers that were not among the sources given. */
  unknownCites: number[];
  /** IDF-weighted share of its content terms found in the source it ends up with (or the best cited one). */
  lexical: number;
  /** Best cosine similarity to a sentence of that source, when it was needed. */
  semantic: number | null;
  /** Numbers and names it states that the source does not. */
  missing: string[];
  reason: string;
}

export interface Verification {
  /** `lexical+semantic` with an embedder, `lexical` without one. */
  method: string;
  mode: "remove" | "flag";
  sentences: number;
  /** Claim sentences supported by a source (kept or moved). */
  supported: number;
  kept: number;
  moved: number;
  removed: number;
  flagged: number;
  /** Citations no longer in the answer: to sources not given, not supporting, or on removed sentences. */
  citationsRemoved: number;
  /** Of those, citations to source numbers that were never given. */
  citationsNotGiven: number;
  /** supported / claim sentences; 1 when there are none. */
  supportedShare: number;
  details: SentenceCheck[];
}

export interface VerifyOptions {
  mode: "remove" | "flag";
  /** Below this share of supported claim sentences the answer abstains. */
  minSupportedShare: number;
  /** The configured embedder; without it only lexical evidence counts. */
  embed?: ((texts: string[]) => Promise<number[][]>) | undefined;
}

export interface VerifiedAnswer {
  text: string;
  abstained: boolean;
  /** Why the answer abstained after verification, when it did. */
  abstainReason?: string | undefined;
  cited: number[];
  verification: Verification;
}
