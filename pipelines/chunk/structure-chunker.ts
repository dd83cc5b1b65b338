import type { ParsedDocument, ParsedSection } from "../parse/types.js";
import { isInvisible, paragraphSpans, sentenceSpans, splitOversized, type Span } from "../text/segment.js";
import type { ChunkDraft, Chunker, ChunkerSettings, TokenCounter } from "./types.js";

export const STRUCTURE_STRATEGY = "structure-v1";
const HEADING_LINE = /^(?:>[ \t]*)*#{1,6}[ \t][^\n]*$/;

/**
 * Settings for `structure-v1` under a token limit. No overlap by default: chunks already end at
 * paragraph or sentence boundaries, so repeating text mostly inflates the index.
 */
export function defaultChunkerSettings(maxTokens: number): ChunkerSettings {
  return { maxTokens, overlapTokens: 0, strategy: STRUCTURE_STRATEGY };
}

interface Unit extends Span {
  /** For the first unit of a paragraph, the index just past the paragraph's last unit; else -1. */
  paragraphEnd: number;
}

/**
 * A chunker that never crosses a section boundary and fills chunks with whole paragraphs, falling
 * back to whole sentences, then words. `chunk.text === doc.text.slice(start, end)` and is trimmed.
 *
 * Each sentence is counted once and chunk sizes are estimated by summing, because the embedder's
 * tokenizer is slow; every chunk is then counted once for real and shrunk in the rare case that
 * joining sentences changed the count. Sums subtract `countTokens("")` per sentence so tokenizers
 * that add fixed special tokens ([CLS], [SEP]) are not charged for them more than once.
 */
export function createChunker(settings: ChunkerSettings, countTokens: TokenCounter): Chunker {
  const { maxTokens, overlapTokens, strategy } = settings;
  if (strategy !== STRUCTURE_STRATEGY) {
    throw new RangeError(`createChunker implements "${STRUCTURE_STRATEGY}", not "${strategy}".`);
  }
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}.`);
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens) {
    throw new RangeError(`overlapTokens must be an integer from 0 to maxTokens - 1, got ${overlapTokens}.`);
  }
  const baseTokens = countTokens("");

  function sectionUnits(text: string, section: ParsedSection): Unit[] {
    const units: Unit[] = [];
    for (const [pStart, pEnd] of paragraphSpans(text, section.start, section.end)) {
      if (isInvisible(text.slice(pStart, pEnd))) {
        continue;
      }
      const first = units.length;
      for (const [start, end] of sentenceSpans(text, pStart, pEnd)) {
        const sentenceText = text.slice(start, end);
        if (isInvisible(sentenceText)) {
          continue;
        }
        const sentence = { start, end, tokens: countTokens(sentenceText) };
        for (const piece of splitOversized(text, sentence, maxTokens, countTokens)) {
          units.push({ ...piece, paragraphEnd: -1 });
        }
      }
      if (units[first]) {
        units[first].paragraphEnd = units.length;
      }
    }
    return units;
  }

  function chunkSection(text: string, section: ParsedSection, out: ChunkDraft[]): void {
    const units = sectionUnits(text, section);
    const prefix = [0];
    for (const u of units) {
      prefix.push(prefix[prefix.length - 1]! + u.tokens - baseTokens);
    }
    const estimate = (from: number, to: number) => baseTokens + prefix[to]! - prefix[from]!;

    // The chunk being built is units [a, i); [a, overlapEnd) repeat the end of the previous chunk.
    let a = 0;
    let overlapEnd = 0;
    let i = 0;
    const flush = () => {
      // A heading line belongs with the text under it, not at the foot of the chunk before.
      let last = i;
      while (last - 1 > overlapEnd && HEADING_LINE.test(text.slice(units[last - 1]!.start, units[last - 1]!.end))) {
        last--;
      }
      const [start, end] = emit(text, section, units, a, last, overlapEnd, out);
      i = end;
      overlapEnd = end;
      a = end;
      while (overlapTokens > 0 && a - 1 > start && estimate(a - 1, end) <= overlapTokens) {
        a--;
      }
    };
    for (;;) {
      if (i === units.length) {
        if (i === overlapEnd) {
          return;
        }
        flush();
        continue;
      }
      const paragraphEnd = units[i]!.paragraphEnd;
      const paragraphStart = paragraphEnd > i;
      if (paragraphStart && estimate(a, paragraphEnd) <= maxTokens) {
        i = paragraphEnd;
        continue;
      }
      const hasNew = i > overlapEnd;
      // A paragraph that does not fit starts the next chunk, unless that would leave this one
      // nearly empty (a lone heading line, say): then the paragraph is split at sentences.
      if (paragraphStart && hasNew && estimate(overlapEnd, i) - baseTokens >= maxTokens / 4) {
        flush();
        continue;
      }
      // Repeated text gives way to keeping a paragraph whole.
      if (paragraphStart && !hasNew && a < overlapEnd && estimate(i, paragraphEnd) <= maxTokens) {
        a++;
        continue;
      }
      if (estimate(a, i + 1) <= maxTokens) {
        i++;
      } else if (!hasNew) {
        a++;
      } else {
        flush();
      }
    }
  }

  /** Emits units [a, i), dropping units from the end (or overlap from the front) until it truly fits. */
  function emit(
    text: string,
    section: ParsedSection,
    units: Unit[],
    a: number,
    i: number,
    overlapEnd: number,
    out: ChunkDraft[],
  ): [number, number] {
    let from = a;
    let to = i;
    for (;;) {
      const start = units[from]!.start;
      const end = units[to - 1]!.end;
      const chunkText = text.slice(start, end);
      const tokenCount = countTokens(chunkText);
      if (tokenCount <= maxTokens) {
        out.push({
          ordinal: out.length,
          text: chunkText,
          start,
          end,
          headingPath: [...section.headingPath],
          page: section.page,
          tokenCount,
        });
        return [from, to];
      }
      if (to - 1 > overlapEnd) {
        to--;
      } else if (from < overlapEnd) {
        from++;
      } else {
        throw new Error(`The token counter gave ${tokenCount} for text it counted as ${units[from]!.tokens} before.`);
      }
    }
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
