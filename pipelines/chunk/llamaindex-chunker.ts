import type { ParsedDocument, ParsedSection } from "../parse/types.js";
import { isInvisible, sentenceSpans, splitOversized, type Span } from "../text/segment.js";
import type { ChunkDraft, Chunker, ChunkerSettings, TokenCounter } from "./types.js";

export const LLAMAINDEX_STRATEGY = "llamaindex-sentence-v1";

/** Settings for `llamaindex-sentence-v1`: no overlap, as for structure-v1 (chunks end at sentences). */
export function llamaIndexChunkerSettings(maxTokens: number): ChunkerSettings {
  return { maxTokens, overlapTokens: 0, strategy: LLAMAINDEX_STRATEGY };
}

/**
 * llamaindex's SentenceSplitter behind our `Chunker`: each parsed section (Markdown heading
 * section, PDF page) is split on its own, so no chunk crosses a heading or a page, and every chunk
 * is mapped back to exact offsets, `chunk.text === doc.text.slice(start, end)`.
 *
 * llamaindex is imported here, not at module load: it costs about 0.35 s of start-up (measured on
 * this machine), which the default structure chunker should not pay. The splitter counts with our
 * counter (its `tokenizer` option), but it sums the counts of pieces it joins and trims or drops
 * characters between them, so each mapped chunk is counted again and re-split with our counter in
 * the rare case that it is over `maxTokens`.
 */
export async function createLlamaIndexChunker(settings: ChunkerSettings, countTokens: TokenCounter): Promise<Chunker> {
  const { maxTokens, overlapTokens, strategy } = settings;
  if (strategy !== LLAMAINDEX_STRATEGY) {
    throw new RangeError(`createLlamaIndexChunker implements "${LLAMAINDEX_STRATEGY}", not "${strategy}".`);
  }
  if (!Number.isInteger(maxTokens) || maxTokens < 2) {
    throw new RangeError(`maxTokens must be an integer of at least 2, got ${maxTokens}.`);
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens) {
    throw new RangeError(`overlapTokens must be an integer from 0 to maxTokens - 1, got ${overlapTokens}.`);
  }
  const { SentenceSplitter } = await import("llamaindex");
  // Tokenizers that add fixed special tokens ([CLS], [SEP]) would be charged for them once per
  // piece llamaindex sums; charge them once per chunk instead, through a smaller chunk size.
  const baseTokens = Math.min(countTokens(""), maxTokens - 1);
  const splitter = new SentenceSplitter({
    chunkSize: maxTokens - baseTokens,
    chunkOverlap: Math.min(overlapTokens, maxTokens - baseTokens - 1),
    // Our parsers separate paragraphs by one blank line; llamaindex's default ("\n\n\n") would skip
    // straight to sentences and lose the paragraph preference.
    paragraphSeparator: "\n\n",
    tokenizer: {
      // Only the length is read (SentenceSplitter.tokenSize); the splitter never decodes.
      encode: (text: string) => new Uint32Array(Math.max(0, countTokens(text) - baseTokens)),
      decode: () => {
        throw new Error("llamaindex-sentence-v1 counts tokens only; it cannot decode.");
      },
    },
  });

  function chunkSection(text: string, section: ParsedSection, out: ChunkDraft[]): void {
    const skeleton = skeletonOf(text, section);
    let cursor = 0; // index into the skeleton where the next chunk's search starts
    for (const piece of splitter.splitText(section.text)) {
      const found = locate(skeleton, piece, cursor);
      if (!found) {
        throw new Error(
          `llamaindex returned text that is not in section ${JSON.stringify(section.headingPath)} (page ${section.page}): ${JSON.stringify(piece.slice(0, 80))}`,
        );
      }
      const [from, to] = found;
      // With overlap the next chunk starts inside this one; without, strictly after it, so
      // repeated text ("Yes.") is never matched twice.
      cursor = overlapTokens > 0 ? from + 1 : to;
      const span = { start: skeleton.positions[from]!, end: skeleton.positions[to - 1]! + 1 };
      const spanText = text.slice(span.start, span.end);
      if (isInvisible(spanText)) {
        continue;
      }
      const tokens = countTokens(spanText);
      for (const s of tokens <= maxTokens ? [{ ...span, tokens }] : resplit(text, span)) {
        out.push({
          ordinal: out.length,
          text: text.slice(s.start, s.end),
          start: s.start,
          end: s.end,
          headingPath: [...section.headingPath],
          page: section.page,
          tokenCount: s.tokens,
        });
      }
    }
  }

  /** An oversize span cut at sentences, then words, and packed greedily, each piece counted for real. */
  function resplit(text: string, span: { start: number; end: number }): Span[] {
    const units = sentenceSpans(text, span.start, span.end).flatMap(([start, end]) =>
      splitOversized(text, { start, end, tokens: countTokens(text.slice(start, end)) }, maxTokens, countTokens),
    );
    const out: Span[] = [];
    let current: Span | null = null;
    for (const u of units) {
      const tokens: number = current ? countTokens(text.slice(current.start, u.end)) : u.tokens;
      if (current && tokens <= maxTokens) {
        current = { start: current.start, end: u.end, tokens };
      } else {
        if (current) {
          out.push(current);
        }
        current = u;
      }
    }
    if (current) {
      out.push(current);
    }
    return out;
  }

  return {
    settings: { maxTokens, overlapTokens, strategy },
    chunk(doc: ParsedDocument): ChunkDraft[] {
      const out: ChunkDraft[] = [];
      for (const section of doc.sections) {
        chunkSection(doc.text, section, out);
      }
      return out;
    },
  };
}

/** A section's non-whitespace characters and where each one is in the document's text. */
interface Skeleton {
  chars: string;
  positions: number[];
}

function skeletonOf(text: string, section: ParsedSection): Skeleton {
  let chars = "";
  const positions: number[] = [];
  for (let i = section.start; i < section.end; i++) {
    if (/\s/.test(text[i]!)) {
      continue;
    }
    chars += text[i];
    positions.push(i);
  }
  return { chars, positions };
}

/**
 * Where a llamaindex chunk lies in the skeleton, from `cursor`: [from, to) skeleton indices.
 * Whitespace is ignored on both sides (llamaindex trims and re-joins pieces). Its phrase regex
 * also drops characters it does not match (the second "." of ".."), so when the chunk is not a
 * substring it is matched as a subsequence, and the dropped characters land inside the span.
 */
function locate(skeleton: Skeleton, piece: string, cursor: number): [number, number] | null {
  const wanted = piece.replace(/\s+/g, "");
  if (wanted === "") {
    return null;
  }
  const at = skeleton.chars.indexOf(wanted, cursor);
  if (at >= 0) {
    return [at, at + wanted.length];
  }
  const from = skeleton.chars.indexOf(wanted[0]!, cursor);
  if (from < 0) {
    return null;
  }
  let i = from;
  // By UTF-16 unit, as the skeleton is indexed: a surrogate pair matches unit by unit.
  for (let k = 0; k < wanted.length; k++) {
    while (i < skeleton.chars.length && skeleton.chars[i] !== wanted[k]) {
      i++;
    }
    if (i === skeleton.chars.length) {
      return null;
    }
    i++;
  }
  return [from, i];
}
