import { buildSections, type HeadingMark } from "./sections.js";
import { tableParagraphs } from "./table-rows.js";
import type { ParsedDocument } from "./types.js";

const FRONT_MATTER = /^---[ \t]*\r?\n(?:[\s\S]*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
// Lines that cannot be the text of a setext heading: a "---" under them is a thematic break.
const NOT_SETEXT_TEXT = /^(?: {4}|\t| {0,3}(?:[-*+>|<]|\d+[.)])(?:[ \t]|$))/;

// GitHub tables: a header row, then a delimiter row of dashes with optional colons.
const TABLE_DELIMITER = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

/**
 * Parses Markdown (CommonMark headings, GitHub-style fences and tables). `text` is the source
 * itself so that chunk offsets point into the raw file that the user can open, except that each
 * table row is written as a paragraph labelled with its column headers ("Option: --force ·
 * Meaning: …"): a row chunked or quoted apart from its header row would lose what its cells are.
 */
export function parseMarkdown(raw: string): ParsedDocument {
  const source = labelTables(raw);
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
      if (fenceClose.test(line)) {
        fenceClose = null;
      }
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
      headings.push({
        start: lineStart,
        contentStart: lineEnd,
        level: atx[1]!.length,
        text: cleanHeading(atx[2] ?? ""),
      });
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

/** The source with every GitHub table (outside code fences) rewritten as labelled row paragraphs. */
function labelTables(source: string): string {
  if (!source.includes("|")) {
    return source;
  }
  const lines = source.split("\n");
  const out: string[] = [];
  let fenceClose: RegExp | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fenceClose !== null) {
      if (fenceClose.test(line.replace(/\r$/, ""))) {
        fenceClose = null;
      }
      out.push(line);
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    if (open !== null) {
      fenceClose = new RegExp(`^ {0,3}${open[1]![0]}{${open[1]!.length},}[ \\t]*$`);
      out.push(line);
      continue;
    }
    const next = lines[i + 1]?.replace(/\r$/, "");
    const header = line.includes("|") ? cellsOf(line) : [];
    if (
      header.length < 2 ||
      next === undefined ||
      !next.includes("-") ||
      !TABLE_DELIMITER.test(next) ||
      cellsOf(next).length !== header.length
    ) {
      out.push(line);
      continue;
    }
    const rows = [header];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim() !== "" && lines[j]!.includes("|"); j++) {
      rows.push(cellsOf(lines[j]!));
    }
    const eol = line.endsWith("\r") ? "\r\n" : "\n";
    out.push(tableParagraphs(rows, true).join(`${eol}${eol}`));
    i = j - 1;
  }
  return out.join("\n");
}

/** Cells of a table line: outer pipes dropped, split at pipes that are not escaped, trimmed. */
function cellsOf(line: string): string[] {
  const body = line
    .replace(/\r$/, "")
    .trim()
    .replace(/^\|/, "")
    .replace(/(?<!\\)\|$/, "");
  return body.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
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
  if (match === null) {
    return null;
  }
  return match[1]!.replace(/^(["'])(.*)\1$/, "$2") || null;
}
