import type { ParsedDocument } from "./types.js";

/**
 * Parses plain text as one section spanning the trimmed text. Plain text has no headings, and
 * one section lets the chunker pack short paragraphs together instead of emitting each alone.
 */
export function parseText(source: string): ParsedDocument {
  const start = source.length - source.trimStart().length;
  const end = source.trimEnd().length;
  const sections = end > start ? [{ text: source.slice(start, end), start, end, headingPath: [], page: null }] : [];
  return { format: "text", text: source, title: null, sections, pageCount: null };
}
