import { contentTerms } from "../text/terms.js";
import { lexicalSupport, type SourceEvidence } from "../verify/evidence.js";
import { closestSentences, cosine, judgeLexically, THRESHOLDS, type Verdict } from "../verify/claim-support.js";

/**
 * Is a source relevant to a question (as opposed to: does it support a claim)? A question is not a
 * paraphrase of its answer, so the verifier's claim thresholds do not fit. Measured with USE-Lite
 * on 80 ClapNQ dev questions, cosine of the question to the source sentence sharing most of its
 * terms: its own passage median 0.55, 10th percentile 0.29; another question's passage median
 * 0.10, 95th percentile 0.29. IDF-weighted term coverage of the question: own passage median 0.36,
 * another passage 0 up to the 75th percentile. (The best of three sentences separates the two a
 * little better, 0.37 against 0.34, for three times the embedding cost.)
 */
export const RELEVANCE = {
  /** At or above: relevant on words alone, nothing to embed. */
  lexicalSure: 0.75,
  /** Between no shared term and lexicalSure: relevant when the best sentence is at least this similar. */
  semanticMin: 0.3,
  /** Without an embedder (or past the embedding budget), the one lexical bar. */
  lexicalAlone: 0.25,
  /** Source sentences embedded per question-source pair. */
  sentences: 1,
} as const;

// One embed call per answer, bounded: texts cost about 20 ms each with USE-Lite on a CPU, and an
// answer's metrics should not cost more than its retrieval and generation. What the budget does not
// reach is judged on words alone.
export const MAX_EMBED_TEXTS = 16;
const SENTENCES_PER_SOURCE = 3;
/** Of the uncertain pairs behind one yes-or-no ("does any source support this claim?"), the most lexically supported are embedded. */
export const MAYBES_TRIED = 2;

/** One judgement of a text against a source: lexical now, semantic after `run` when it was uncertain. */
export interface Check {
  lexical: number;
  verdict: Verdict;
  /** The verdict on words alone, used when the embedding budget or the embedder fails it. */
  fallback: boolean;
  threshold: number;
  texts: string[];
  semantic?: number;
}

/**
 * Collects the judgements one answer's metrics need, settles the uncertain ones with one embedding
 * call (plus any whole texts asked for with `vector`), and then answers them.
 */
export function createSupportBatch(weight: (t: string) => number, canEmbed: boolean) {
  const extras = new Map<string, number[] | null>();
  const pending: Check[] = [];
  let failed = false;

  const isYes = (c: Check): boolean =>
    c.verdict === "yes" ||
    (c.verdict === "maybe" && (c.semantic === undefined ? c.fallback : c.semantic >= c.threshold));

  return {
    /** Does `ev` support the claim? The verifier's test (judge.ts THRESHOLDS): names and numbers, then words, then meaning. */
    support(claim: string, ev: SourceEvidence): Check {
      const j = judgeLexically(claim, ev, weight, canEmbed);
      const alone = canEmbed ? judgeLexically(claim, ev, weight, false).verdict === "yes" : j.verdict === "yes";
      return {
        lexical: j.lexical,
        verdict: j.verdict,
        fallback: alone,
        threshold: THRESHOLDS.semanticMin,
        texts: [claim, ...closestSentences(claim, ev, SENTENCES_PER_SOURCE)],
      };
    },

    /** Is `ev` relevant to the question? See RELEVANCE. */
    relevance(question: string, ev: SourceEvidence): Check {
      const terms = contentTerms(question);
      const lexical = lexicalSupport(terms, ev, weight);
      const verdict: Verdict =
        lexical >= RELEVANCE.lexicalSure
          ? "yes"
          : !canEmbed
            ? lexical >= RELEVANCE.lexicalAlone
              ? "yes"
              : "no"
            : lexical === 0
              ? "no"
              : "maybe";
      return {
        lexical,
        verdict,
        fallback: lexical >= RELEVANCE.lexicalAlone,
        threshold: RELEVANCE.semanticMin,
        texts: [question, ...closestSentences(question, ev, RELEVANCE.sentences)],
      };
    },

    /**
     * True when any of the checks says yes; of the uncertain ones, the MAYBES_TRIED with the most
     * lexical support are embedded (with `semantic: false`, none: they get the words-only verdict).
     * Read the answer after `run`.
     */
    any(checks: Check[], opts: { semantic?: boolean } = {}): () => boolean {
      if (checks.some((c) => c.verdict === "yes")) {
        return () => true;
      }
      const maybes = checks
        .filter((c) => c.verdict === "maybe")
        .sort((a, b) => b.lexical - a.lexical)
        .slice(0, MAYBES_TRIED);
      if (opts.semantic === false) {
        return () => maybes.some((c) => c.fallback);
      }
      pending.push(...maybes);
      return () => maybes.some(isYes);
    },

    /** Asks for the whole text's vector in the same call; read it after `run` (null without one). */
    vector(text: string): () => number[] | null {
      if (canEmbed) {
        extras.set(text, null);
      }
      return () => extras.get(text) ?? null;
    },

    /** The one embedding call. An embedder that fails leaves the words to decide. */
    async run(embed: ((texts: string[]) => Promise<number[][]>) | undefined): Promise<void> {
      if (!embed || !canEmbed) {
        return;
      }
      const index = new Map<string, number>([...extras.keys()].map((t, i) => [t, i]));
      const settled: Check[] = [];
      for (const c of pending) {
        const fresh = [...new Set(c.texts.filter((t) => !index.has(t)))];
        if (index.size + fresh.length > MAX_EMBED_TEXTS) {
          continue;
        }
        for (const t of fresh) {
          index.set(t, index.size);
        }
        settled.push(c);
      }
      if (index.size === 0) {
        return;
      }
      let vectors: number[][];
      try {
        vectors = await embed([...index.keys()]);
      } catch {
        failed = true;
        return;
      }
      for (const t of extras.keys()) {
        extras.set(t, vectors[index.get(t)!]!);
      }
      for (const c of settled) {
        const [query, ...sentences] = c.texts;
        const q = vectors[index.get(query!)!]!;
        c.semantic = sentences.length ? Math.max(...sentences.map((s) => cosine(q, vectors[index.get(s)!]!))) : 0;
      }
    },

    get embedFailed() {
      return failed;
    },
  };
}

export type SupportBatch = ReturnType<typeof createSupportBatch>;
