import type { ChunkHit } from "../store/types.js";
import { splitSentences } from "../text/sentences.js";
import type { GeneratorTokenizer } from "./tokens.js";
import type { ContextSource } from "./types.js";

export interface PackedContext {
  sources: ContextSource[];
  usedTokens: number;
  budgetTokens: number;
  /** Chunks that did not fit at all. */
  dropped: number;
}

// A fragment shorter than this is not worth a source number: it would rarely support a sentence.
const MIN_FRAGMENT_TOKENS = 24;

/**
 * Packs the best chunks, in rank order, into `budgetTokens` generator tokens. A chunk that does
 * not fit whole is cut at a sentence boundary; the total never exceeds the budget.
 */
export function packContext(hits: ChunkHit[], budgetTokens: number, tokenizer: GeneratorTokenizer): PackedContext {
  const sources: ContextSource[] = [];
  let used = 0;
  let dropped = 0;
  for (const hit of hits) {
    const left = budgetTokens - used;
    const whole = tokenizer.count(hit.text);
    if (whole <= left) {
      sources.push({ n: sources.length + 1, hit, text: hit.text, tokens: whole });
      used += whole;
      continue;
    }
    const cut = left >= MIN_FRAGMENT_TOKENS ? leadingSentences(hit.text, left, tokenizer) : null;
    if (cut) {
      sources.push({ n: sources.length + 1, hit, text: cut.text, tokens: cut.tokens });
      used += cut.tokens;
    } else dropped++;
  }
  return { sources, usedTokens: used, budgetTokens, dropped };
}

function leadingSentences(text: string, budget: number, tokenizer: GeneratorTokenizer) {
  let best: { text: string; tokens: number } | null = null;
  for (const span of splitSentences(text)) {
    const candidate = text.slice(0, span.end).trim();
    const tokens = tokenizer.count(candidate);
    if (tokens > budget) break;
    best = { text: candidate, tokens };
  }
  return best;
}
