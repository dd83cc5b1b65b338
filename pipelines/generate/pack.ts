import type { ChunkHit } from "../store/types.js";
import { splitSentences } from "../text/sentences.js";
import type { GeneratorTokenizer } from "./tokens.js";
import type { ContextSource } from "./types.js";

export interface PackedContext {
  sources: ContextSource[];
  /** Tokens of all sources as the prompt carries them, counted on the joined text. */
  usedTokens: number;
  budgetTokens: number;
  /** Chunks that did not fit at all. */
  dropped: number;
}

type Render = (source: { n: number; hit: ChunkHit; text: string }) => string;

// A fragment shorter than this is not worth a source number: it would rarely support a sentence.
const MIN_FRAGMENT_TOKENS = 24;

/**
 * Packs the best chunks, in rank order, into `budgetTokens` generator tokens, each counted as
 * `render` lays it out in the prompt (delimiters included). A chunk that does not fit whole is cut
 * at a sentence boundary, never inside a sentence; the total never exceeds the budget.
 */
export function packContext(
  hits: ChunkHit[],
  budgetTokens: number,
  tokenizer: GeneratorTokenizer,
  render: Render = (s) => s.text,
): PackedContext {
  const sources: ContextSource[] = [];
  let used = 0;
  let dropped = 0;
  for (const hit of hits) {
    const left = budgetTokens - used;
    const n = sources.length + 1;
    const whole = left > 0 ? tokenizer.count(render({ n, hit, text: hit.text })) : Infinity;
    const fit =
      whole <= left
        ? { text: hit.text, tokens: whole }
        : left >= MIN_FRAGMENT_TOKENS
          ? leadingSentences(hit, n, left, tokenizer, render)
          : null;
    if (!fit) {
      dropped++;
      continue;
    }
    sources.push({ n, hit, text: fit.text, tokens: fit.tokens });
    used += fit.tokens;
  }
  // Pieces were counted apart; joining can merge tokens but, with a tokenizer that splits
  // differently, could also add some: the joined text is what must fit.
  let joined = tokenizer.count(sources.map(render).join(""));
  while (joined > budgetTokens && sources.length) {
    sources.pop();
    dropped++;
    joined = tokenizer.count(sources.map(render).join(""));
  }
  return { sources, usedTokens: sources.length ? joined : 0, budgetTokens, dropped };
}

/** The longest run of leading sentences that fits, found by binary search over sentence ends. */
function leadingSentences(hit: ChunkHit, n: number, budget: number, tokenizer: GeneratorTokenizer, render: Render) {
  const ends = splitSentences(hit.text).map((s) => s.end);
  let best: { text: string; tokens: number } | null = null;
  let lo = 0;
  let hi = ends.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const text = hit.text.slice(0, ends[mid]).trim();
    const tokens = tokenizer.count(render({ n, hit, text }));
    if (tokens <= budget) {
      best = { text, tokens };
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}
