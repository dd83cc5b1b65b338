import { contentTerms } from "../text/terms.js";
import { lexicalSupport, missingFacts, type SourceEvidence } from "./evidence.js";

/**
 * Thresholds, fitted on ClapNQ dev (300 reference-answer sentences against their own passage; 284
 * against the lexically nearest passage of another article, the hardest negative there): 99.0%
 * of the first are supported and none of the second. Lexical support decides at either end;
 * between them the embedder decides. ClapNQ's references are close to extractive (median
 * lexical support 1.0), so the semantic zone saw few paraphrases: SEMANTIC_MIN is conservative.
 */
export const THRESHOLDS = {
  /** At or above: supported on lexical evidence alone. */
  lexicalSure: 0.75,
  /** Below: unsupported, whatever the embedder says (topic similarity is not support). */
  lexicalFloor: 0.4,
  /** Between the two: supported when the best source sentence is at least this similar. */
  semanticMin: 0.8,
  /** Without an embedder, the one lexical bar. */
  lexicalAlone: 0.6,
  /** Fewer content terms than this and term overlap proves nothing ("PWNED."): the embedder must agree. */
  minClaimTerms: 3,
} as const;

export type Verdict = "yes" | "no" | "maybe";

export interface Judgement {
  verdict: Verdict;
  lexical: number;
  missing: string[];
}

/** The lexical half of the decision; "maybe" waits for semantic evidence. */
export function judgeLexically(
  plain: string,
  source: SourceEvidence,
  weight: (t: string) => number,
  canEmbed: boolean,
): Judgement {
  const terms = contentTerms(plain);
  const lexical = lexicalSupport(terms, source, weight);
  const missing = missingFacts(plain, source);
  if (missing.length) {
    return { verdict: "no", lexical, missing };
  }
  const short = new Set(terms).size < THRESHOLDS.minClaimTerms;
  if (!canEmbed) {
    return { verdict: !short && lexical >= THRESHOLDS.lexicalAlone ? "yes" : "no", lexical, missing };
  }
  if (lexical < THRESHOLDS.lexicalFloor) {
    return { verdict: "no", lexical, missing };
  }
  return { verdict: !short && lexical >= THRESHOLDS.lexicalSure ? "yes" : "maybe", lexical, missing };
}

/** The source sentences worth embedding for a claim: those sharing the most of its terms. */
export function closestSentences(plain: string, source: SourceEvidence, k: number): string[] {
  const terms = new Set(contentTerms(plain));
  return source.sentences
    .map((s, i) => ({ s, i, shared: contentTerms(s).filter((t) => terms.has(t)).length }))
    .sort((a, b) => b.shared - a.shared || a.i - b.i)
    .slice(0, k)
    .map((x) => x.s);
}

export function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}
