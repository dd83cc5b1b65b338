import { buildSections, type HeadingMark } from "./sections.js";
import type { ParsedDocument } from "./types.js";

const FRONT_MATTER = /^---[ \t]*\r?\n(?:[\s\S]*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
// Lines that cannot be the text of a setext heading: a "---" under them is a thematic break.
const NOT_SETEXT_TEXT = /^(?: {4}|\t| {0,3}(?:[-*+>|<]|\d+[.)])(?:[ \t]|$))/;

/**
 * Parses Markdown (CommonMark headings, GitHub-style fences). `text` is the source itself so that
 * chunk offsets point into the raw file that the user can open.
 */
export function parseMarkdown(source: string): ParsedDocument {
  const frontMatter = FRONT_MATTER.exec(source)?.[0] ?? "";
  const headings = findHeadings(source, frontMatter.length);
  const h1 = headings.find((h) => h.level === 1 && h.text !== "");
  return {
    format: "markdown",
    text: source,
    // Many docs sets (mdBook chapters among them) start sub-pages at "##", so fall back to the first heading.
    title: h1?.text ?? frontMatterTitle(frontMatter) ?? headings.find((h) => h.text !== "")?.text ?? null,
    sections: buildSections(source, frontMatter.length, headings),
    pageCount: null,
  };
}

function findHeadings(source: string, bodyStart: number): HeadingMark[] {
  const headings: HeadingMark[] = [];
  let fenceClose: RegExp | null = null;
  // The previous line when it is the only line of a paragraph so far, i.e. a setext candidate.
  let candidate: { start: number; text: string } | null = null;
  let paragraphLines = 0;

  for (let pos = bodyStart; pos < source.length; ) {
    const newline = source.indexOf("\n", pos);
    const lineEnd = newline === -1 ? source.length : newline;
    const line = source.slice(pos, lineEnd).replace(/\r$/, "");
    const lineStart = pos;
    pos = lineEnd + 1;

    if (fenceClose !== null) {
      if (fenceClose.test(line)) fenceClose = null;
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    if (open !== null) {
      fenceClose = new RegExp(`^ {0,3}${open[1]![0]}{${open[1]!.length},}[ \\t]*$`);
      candidate = null;
      paragraphLines = 0;
      continue;
    }
    const atx = ATX.exec(line);
    if (atx !== null) {
      headings.push({ start: lineStart, contentStart: lineEnd, level: atx[1]!.length, text: cleanHeading(atx[2] ?? "") });
      candidate = null;
      paragraphLines = 0;
      continue;
    }
    const setext = SETEXT.exec(line);
    if (setext !== null && candidate !== null && paragraphLines === 1) {
      const level = setext[1]!.startsWith("=") ? 1 : 2;
      headings.push({ start: candidate.start, contentStart: lineEnd, level, text: cleanHeading(candidate.text) });
      candidate = null;
      paragraphLines = 0;
      continue;
    }
    if (line.trim() === "") {
      candidate = null;
      paragraphLines = 0;
      continue;
    }
    paragraphLines++;
    candidate = NOT_SETEXT_TEXT.test(line) ? null : { start: lineStart, text: line };
  }
  return headings;
}

/** Heading text as a reader sees it: no closing #'s, code ticks or link targets. */
function cleanHeading(raw: string): string {
  return raw
    .trim()
    .replace(/(?:^|[ \t]+)#+$/, "")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`/g, "")
    .trim();
}

function frontMatterTitle(frontMatter: string): string | null {
  const match = /^title:[ \t]*(.+?)[ \t]*$/m.exec(frontMatter);
  if (match === null) return null;
  return match[1]!.replace(/^(["'])(.*)\1$/, "$2") || null;
}
