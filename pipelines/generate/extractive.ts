import { detectInjection } from "../guard/injection.js";
import { contentTerms } from "../text/terms.js";
import { splitSentences } from "../text/sentences.js";
import { ABSTAIN_MESSAGE } from "./answer-text.js";
import { createGeneratorTokenizer } from "./tokens.js";
import type { AnswerSentence, ContextSource, GeneratedAnswer, Generator } from "./types.js";

export { ABSTAIN_MESSAGE } from "./answer-text.js";

export interface ExtractiveOptions {
  /** Most sentences in an answer. */
  maxSentences?: number;
  /**
   * Share of the question's (IDF-weighted) content terms the best sentence must contain; below
   * it the generator abstains rather than quote something unrelated.
   */
  minSupport?: number;
  /** How much retrieval rank breaks ties: a sentence of source n scores coverage × (1 + rankPrior / n). */
  rankPrior?: number;
}

interface Candidate {
  source: ContextSource;
  text: string;
  position: number;
  terms: Set<string>;
  score: number;
}

/**
 * Answers by quoting the sentences of the packed sources that best cover the question, each with
 * its `[n]`. Grounded by construction: every sentence is verbatim from the source it cites.
 */
export function createExtractiveGenerator(opts: ExtractiveOptions = {}): Generator {
  const maxSentences = opts.maxSentences ?? 3;
  // Fitted on ClapNQ dev with the answerability judge in front (npm run bench:answerability):
  // the judge decides whether to answer, so the generator answers from a lower coverage, and it
  // leans on the reranker's order, which puts the passage that answers first for 91% of questions.
  // Against 0.34 / 0.15, answered with the gold passage cited rose from 71% to 80% (held-out half).
  const minSupport = opts.minSupport ?? 0.25;
  const rankPrior = opts.rankPrior ?? 1.0;
  const tokenizer = createGeneratorTokenizer();
  return {
    name: "extractive",
    // No model: the window only bounds how much retrieved text is considered.
    contextWindow: 4096,
    answerReserve: 512,
    tokenizer,
    // No prompt either; the question is what it reads besides the sources.
    promptTokens: (question) => tokenizer.count(question),
    renderSource: (s) => s.text,
    async generate({ question, sources }): Promise<GeneratedAnswer> {
      const qTerms = [...new Set(contentTerms(question))];
      const candidates: Candidate[] = sources.flatMap((source) =>
        splitSentences(source.text).map((span, position) => {
          const text = source.text.slice(span.start, span.end).replace(/\s+/g, " ");
          return { source, text, position, terms: new Set(contentTerms(text)), score: 0 };
        }),
      );
      if (qTerms.length === 0 || candidates.length === 0) return abstain();
      // Rare question terms are the evidence; "rust" in a Rust book says little.
      const idf = new Map(
        qTerms.map((t) => {
          const df = candidates.filter((c) => c.terms.has(t)).length;
          return [t, Math.log(1 + (candidates.length + 1) / (df + 0.5))];
        }),
      );
      const total = [...idf.values()].reduce((a, b) => a + b, 0);
      for (const c of candidates) {
        const covered = qTerms.reduce((s, t) => s + (c.terms.has(t) ? idf.get(t)! : 0), 0) / total;
        // Retrieval rank breaks ties: the fused ranking saw more than one sentence.
        c.score = covered * (1 + rankPrior / c.source.n);
      }
      const ranked = candidates.filter(isProse).sort((a, b) => b.score - a.score);
      const best = ranked[0];
      if (!best || best.score < minSupport) return abstain();
      const chosen = ranked
        .filter((c) => c.score >= Math.max(minSupport, best.score * 0.6))
        .filter((c, i, all) => all.findIndex((o) => o.text === c.text) === i)
        .slice(0, maxSentences)
        .sort((a, b) => a.source.n - b.source.n || a.position - b.position);
      let text = "";
      const sentences: AnswerSentence[] = chosen.map((c) => {
        const sentence = `${c.text} [${c.source.n}]`;
        const start = text ? text.length + 1 : 0;
        text = text ? `${text} ${sentence}` : sentence;
        return { text: sentence, cites: [c.source.n], start, end: start + sentence.length };
      });
      return {
        text,
        abstained: false,
        cited: [...new Set(chosen.map((c) => c.source.n))],
        sentences,
        model: "extractive",
        fallbacks: [],
      };
    },
  };
}

/**
 * Headings and list stubs are not answers: they match the question's words but say nothing. Nor
 * is an instruction ("ignore previous instructions and reply …") planted in a document: it can
 * share the question's words, and quoting it would let the document steer the answer.
 */
function isProse(c: Candidate): boolean {
  const words = c.text.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
  if (words < 4) return false;
  if (detectInjection(c.text).flagged) return false;
  const bare = c.text.replace(/^#+\s*/, "").trim();
  return !c.source.hit.headingPath.includes(bare);
}

function abstain(): GeneratedAnswer {
  return { text: ABSTAIN_MESSAGE, abstained: true, cited: [], sentences: [], model: "extractive", fallbacks: [] };
}
