import type { TokenCounter } from "../chunk/types.js";

/** A span of the document's text with its own token count; `end` is exclusive. */
export interface Span {
  start: number;
  end: number;
  tokens: number;
}

// Words that end in a period without ending a sentence; compared lower-cased, period included.
const ABBREVIATIONS = new Set([
  "e.g.",
  "i.e.",
  "etc.",
  "vs.",
  "cf.",
  "dr.",
  "mr.",
  "mrs.",
  "ms.",
  "prof.",
  "sr.",
  "jr.",
  "st.",
  "fig.",
  "figs.",
  "no.",
  "nos.",
  "vol.",
  "p.",
  "pp.",
  "ch.",
  "sec.",
  "eq.",
  "approx.",
  "inc.",
  "ltd.",
  "co.",
  "corp.",
  "bros.",
  "dept.",
  "univ.",
  "ave.",
  "mt.",
  "ft.",
  "c.",
  "ca.",
  "v.",
  "al.",
  "gen.",
  "lt.",
  "col.",
  "capt.",
  "sgt.",
  "maj.",
  "adm.",
  "gov.",
  "sen.",
  "rep.",
  "rev.",
  "hon.",
  "pres.",
  "jan.",
  "feb.",
  "mar.",
  "apr.",
  "jun.",
  "jul.",
  "aug.",
  "sep.",
  "sept.",
  "oct.",
  "nov.",
  "dec.",
]);
// A sentence ends at . ! ? (with any closing quotes or brackets) before a capital or digit. Text
// tokenised Penn-Treebank style (ClapNQ, many NLP corpora) sets punctuation off with spaces:
// `holy . '' Etymologically`, `hand . ( However`; the closing '' or ) stays with its sentence.
const SENTENCE_END = /[.!?]+["'”’)\]*_]*(?:\s+(?:''|\)))?(?=\s+(?:>\s*)*["'“‘([*_`]*\s?[\p{Lu}\p{N}])/gu;
// Line breaks that start a new unit without punctuation: a list item, heading or table row on the
// next line, or a heading line just before; also inside a "> " quote. Code fences are left alone
// so that an opening fence stays with the code under it.
const LINE_BREAK_BEFORE = /\n(?=[ \t]*(?:>[ \t]*)*(?:[-*+•][ \t]|\d{1,9}[.)][ \t]|#{1,6}[ \t]|\|))/g;
const LINE_BREAK_AFTER = /^[ \t]*(?:>[ \t]*)*#{1,6}[ \t][^\n]*(?=\n)/gm;
// Markup a reader never sees: HTML comments, empty anchors (mdBook keeps old link targets so) and
// Markdown link reference definitions.
const INVISIBLE = /^(?:\s|<!--[\s\S]*?-->|<a\s[^>]*>\s*<\/a>|\[[^\]^\n][^\]\n]*\]:[ \t]*\S[^\n]*)*$/;

/** True for a span holding only markup that renders as nothing, which is not worth a chunk. */
export function isInvisible(text: string): boolean {
  return (text.startsWith("<") || text.startsWith("[")) && INVISIBLE.test(text);
}

/** Paragraphs of `text[start, end)`: runs of lines between blank lines (a bare ">" counts), trimmed. */
export function paragraphSpans(text: string, start: number, end: number): Array<[number, number]> {
  return trimmedPieces(text, start, end, /\n[ \t\r>]*\n/g);
}

/** Sentences of one paragraph, trimmed; see LINE_BREAK_* for the boundaries beyond punctuation. */
export function sentenceSpans(text: string, start: number, end: number): Array<[number, number]> {
  const paragraph = text.slice(start, end);
  const cuts = new Set<number>();
  for (const m of paragraph.matchAll(SENTENCE_END)) {
    if (!isAbbreviation(paragraph, m.index)) {
      cuts.add(m.index + m[0].length);
    }
  }
  for (const m of paragraph.matchAll(LINE_BREAK_BEFORE)) {
    cuts.add(m.index);
  }
  for (const m of paragraph.matchAll(LINE_BREAK_AFTER)) {
    cuts.add(m.index + m[0].length);
  }
  const sorted = [...cuts].sort((x, y) => x - y);
  const spans: Array<[number, number]> = [];
  let from = 0;
  for (const cut of [...sorted, paragraph.length]) {
    const span = trim(paragraph, from, cut);
    if (span) {
      spans.push([start + span[0], start + span[1]]);
    }
    from = cut;
  }
  return spans;
}

function isAbbreviation(paragraph: string, dotIndex: number): boolean {
  if (paragraph[dotIndex] !== "." || paragraph[dotIndex + 1] === ".") {
    return false;
  }
  const wordStart = paragraph.lastIndexOf(" ", dotIndex) + 1;
  const word = paragraph.slice(Math.max(wordStart, paragraph.lastIndexOf("\n", dotIndex) + 1), dotIndex + 1);
  const bare = word.replace(/^["'“‘([]+/, "");
  // A lone capital is an initial ("J. R. R. Tolkien"); "u.s." is a dotted abbreviation.
  return ABBREVIATIONS.has(bare.toLowerCase()) || /^\p{Lu}\.$/u.test(bare) || /^(?:\p{L}\.){2,}$/u.test(bare);
}

/**
 * Splits a span that is over `limit` into pieces that are each within it: at line breaks first
 * (code), then between words, and only for a word longer than the limit (a URL, base64) between
 * characters. Pieces keep their own counts so the packer never counts them again.
 */
export function splitOversized(text: string, span: Span, limit: number, count: TokenCounter, level = 0): Span[] {
  if (span.tokens <= limit) {
    return [span];
  }
  const splitter = [/\n/g, /\s+/g][level];
  if (splitter === undefined) {
    return cutCharacters(text, span, limit, count);
  }
  const parts = trimmedPieces(text, span.start, span.end, splitter);
  if (parts.length <= 1) {
    return splitOversized(text, span, limit, count, level + 1);
  }
  return parts.flatMap(([start, end]) =>
    splitOversized(text, { start, end, tokens: count(text.slice(start, end)) }, limit, count, level + 1),
  );
}

function cutCharacters(text: string, span: Span, limit: number, count: TokenCounter): Span[] {
  const pieces: Span[] = [];
  for (let start = span.start; start < span.end; ) {
    // Binary search for the longest prefix within the limit: O(log n) counts per piece.
    let good = start;
    let goodTokens = 0;
    let bad = span.end + 1;
    while (bad - good > 1) {
      const mid = (good + bad) >> 1;
      const tokens = count(text.slice(start, mid));
      if (tokens <= limit) {
        [good, goodTokens] = [mid, tokens];
      } else {
        bad = mid;
      }
    }
    const highSurrogate = /[\uD800-\uDBFF]/.test(text[good - 1] ?? "");
    if (highSurrogate && good - 1 > start) {
      [good, goodTokens] = [good - 1, count(text.slice(start, good - 1))];
    }
    if (good === start) {
      throw new Error(`One character is over the limit of ${limit} tokens; raise maxTokens.`);
    }
    pieces.push({ start, end: good, tokens: goodTokens });
    start = good;
  }
  return pieces;
}

function trimmedPieces(text: string, start: number, end: number, separator: RegExp): Array<[number, number]> {
  const pieces: Array<[number, number]> = [];
  const slice = text.slice(start, end);
  let from = 0;
  for (const m of slice.matchAll(separator)) {
    const span = trim(slice, from, m.index);
    if (span) {
      pieces.push([start + span[0], start + span[1]]);
    }
    from = m.index + m[0].length;
  }
  const last = trim(slice, from, slice.length);
  if (last) {
    pieces.push([start + last[0], start + last[1]]);
  }
  return pieces;
}

function trim(s: string, from: number, to: number): [number, number] | null {
  let start = from;
  let end = to;
  while (start < end && /\s/.test(s[start]!)) {
    start++;
  }
  while (end > start && /\s/.test(s[end - 1]!)) {
    end--;
  }
  return start < end ? [start, end] : null;
}
