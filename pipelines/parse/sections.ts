import type { ParsedSection } from "./types.js";

/** A heading found by a parser: where its line starts, where its text ends, its level and text. */
export interface HeadingMark {
  start: number;
  contentStart: number;
  level: number;
  text: string;
}

/**
 * Cuts `text` into sections at each heading, from `bodyStart` (after any front matter) to the end.
 * Section spans are trimmed so that `section.text === text.slice(start, end)` and never begin or
 * end with whitespace. A heading with nothing under it but a deeper heading is folded into that
 * heading's section: a chunk holding a bare "# Chapter" line would be retrieval noise, and the
 * heading still reaches the index through the deeper section's `headingPath`.
 */
export function buildSections(text: string, bodyStart: number, headings: HeadingMark[]): ParsedSection[] {
  const sections: ParsedSection[] = [];
  const firstHeading = headings[0]?.start ?? text.length;
  pushTrimmed(sections, text, bodyStart, firstHeading, []);

  const stack: HeadingMark[] = [];
  let carriedStart: number | null = null;
  headings.forEach((heading, k) => {
    while (stack.length > 0 && stack[stack.length - 1]!.level >= heading.level) {
      stack.pop();
    }
    stack.push(heading);
    const next = headings[k + 1];
    const end = next?.start ?? text.length;
    const start = carriedStart ?? heading.start;
    const headingOnly = text.slice(heading.contentStart, end).trim() === "";
    if (headingOnly && next !== undefined && next.level > heading.level) {
      carriedStart = start;
      return;
    }
    carriedStart = null;
    pushTrimmed(
      sections,
      text,
      start,
      end,
      stack.map((h) => h.text).filter((t) => t !== ""),
    );
  });
  return sections;
}

function pushTrimmed(out: ParsedSection[], text: string, from: number, to: number, headingPath: string[]): void {
  let start = from;
  let end = to;
  while (start < end && /\s/.test(text[start]!)) {
    start++;
  }
  while (end > start && /\s/.test(text[end - 1]!)) {
    end--;
  }
  if (start === end) {
    return;
  }
  out.push({ text: text.slice(start, end), start, end, headingPath, page: null });
}
