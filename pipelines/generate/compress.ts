import type { ChunkHit } from "../store/types.js";
import { splitSentences } from "../text/sentences.js";
import { contentTerms } from "../text/terms.js";
import type { PackedContext } from "./pack.js";
import type { GeneratorTokenizer } from "./tokens.js";
import type { ContextSource } from "./types.js";

export interface CompressionReport {
  /** The target: the share of the packed sources' tokens to keep. */
  ratio: number;
  tokensBefore: number;
  tokensAfter: number;
  sentencesDropped: number;
}

type Render = (source: { n: number; hit: ChunkHit; text: string }) => string;

interface Sentence {
  source: number;
  position: number;
  text: string;
  tokens: number;
  score: number;
}

/**
 * Context compression in the spirit of LLMLingua, without its model: the packed sources' sentences
 * are scored by the evidence they carry for the question (the question's content words they hold,
 * each weighted by how rare it is among the context's sentences), and the weakest are dropped until
 * the sources fit `ratio` of their tokens. Kept sentences stay verbatim and in their order, so
 * citations and verification still point at text the document holds; a source left with no
 * sentence is dropped and the rest renumbered. Never exceeds the original budget.
 */
export function compressContext(
  question: string,
  packed: PackedContext,
  ratio: number,
  tokenizer: GeneratorTokenizer,
  render: Render,
): { packed: PackedContext; report: CompressionReport } {
  const before = packed.usedTokens;
  const unchanged = { packed, report: { ratio, tokensBefore: before, tokensAfter: before, sentencesDropped: 0 } };
  if (ratio >= 1 || packed.sources.length === 0) {
    return unchanged;
  }

  const sentences: Sentence[] = packed.sources
    .flatMap((s, si) =>
      splitSentences(s.text).map((span, position) => {
        const text = s.text.slice(span.start, span.end).trim();
        return { source: si, position, text, tokens: tokenizer.count(text) + 1, score: 0 };
      }),
    )
    .filter((s) => s.text);
  if (sentences.length <= 1) {
    return unchanged;
  }
  const q = new Set(contentTerms(question));
  const termsOf = sentences.map((s) => new Set(contentTerms(s.text)));
  const df = new Map<string, number>();
  for (const terms of termsOf) {
    for (const t of terms) {
      if (q.has(t)) {
        df.set(t, (df.get(t) ?? 0) + 1);
      }
    }
  }
  sentences.forEach((s, i) => {
    for (const t of termsOf[i]!) {
      if (q.has(t)) {
        s.score += Math.log(1 + sentences.length / df.get(t)!);
      }
    }
  });

  // Delimiters and attributes cost the same whatever the text: counted once per source kept.
  const overhead = packed.sources.map((s) => tokenizer.count(render({ n: s.n, hit: s.hit, text: "" })));
  const target = Math.floor(before * ratio);
  // Best evidence first; among equals, the better-ranked source and the earlier sentence.
  const order = [...sentences].sort((a, b) => b.score - a.score || a.source - b.source || a.position - b.position);
  const kept = new Set<Sentence>();
  const opened = new Set<number>();
  let estimate = 0;
  for (const s of order) {
    const cost = s.tokens + (opened.has(s.source) ? 0 : overhead[s.source]!);
    if (kept.size > 0 && estimate + cost > target) {
      continue;
    }
    kept.add(s);
    opened.add(s.source);
    estimate += cost;
  }

  const build = () => {
    const sources: ContextSource[] = [];
    for (const [si, original] of packed.sources.entries()) {
      const mine = sentences.filter((s) => s.source === si && kept.has(s));
      if (!mine.length) {
        continue;
      }
      const n = sources.length + 1;
      const text = mine.map((s) => s.text).join(" ");
      sources.push({ n, hit: original.hit, text, tokens: tokenizer.count(render({ n, hit: original.hit, text })) });
    }
    return { sources, used: tokenizer.count(sources.map(render).join("")) };
  };
  let built = build();
  // Estimates are per sentence; the joined text is what counts. Trim the weakest until it fits.
  const weakestFirst = [...order].reverse();
  while (built.used > Math.max(target, 0) && kept.size > 1) {
    kept.delete(weakestFirst.find((s) => kept.has(s))!);
    built = build();
  }
  if (built.used > before) {
    return unchanged;
  }
  return {
    packed: {
      sources: built.sources,
      usedTokens: built.used,
      budgetTokens: packed.budgetTokens,
      dropped: packed.dropped,
    },
    report: { ratio, tokensBefore: before, tokensAfter: built.used, sentencesDropped: sentences.length - kept.size },
  };
}
