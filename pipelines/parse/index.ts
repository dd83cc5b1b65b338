import { PipelineError } from "../errors.js";
import { parseDocx } from "./docx.js";
import { parseHtml } from "./html.js";
import { parseMarkdown } from "./markdown.js";
import type { PdfOcr } from "./ocr.js";
import { parsePdf } from "./pdf.js";
import { parseText } from "./text.js";
import type { DocumentFormat, ParsedDocument } from "./types.js";

export { parseDocx, parseHtml, parseMarkdown, parsePdf, parseText };

const FORMATS: Record<string, DocumentFormat> = {
  ".md": "markdown",
  ".markdown": "markdown",
  ".mdx": "markdown",
  ".html": "html",
  ".htm": "html",
  ".txt": "text",
  ".text": "text",
  ".pdf": "pdf",
  ".docx": "docx",
};
const SNIFF_BYTES = 8192;
const MAX_CONTROL_SHARE = 0.1;

/** The format a file's extension selects (case-insensitive), or null when none does. */
export function formatForPath(path: string): DocumentFormat | null {
  const name = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) {
    return null;
  }
  return FORMATS[name.slice(dot).toLowerCase()] ?? null;
}

/**
 * Decodes a text file as strict UTF-8 without its BOM. Throws `empty_document`, `binary_content`
 * or `invalid_encoding`; none of them is retryable, as the same bytes will fail the same way.
 */
export function decodeText(bytes: Uint8Array, path: string): string {
  if (bytes.length === 0) {
    throw emptyError(path, "the file is empty");
  }
  // UTF-16 text is full of NUL bytes; name the real problem rather than calling it binary.
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw encodingError(path, "it starts with a UTF-16 byte order mark", undefined);
  }
  // Postgres text columns reject NUL, so a single one anywhere would fail the store stage later.
  if (bytes.includes(0)) {
    throw binaryError(path, "it contains NUL bytes");
  }
  const head = bytes.subarray(0, SNIFF_BYTES);
  let control = 0;
  for (const b of head) {
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d) || b === 0x7f) {
      control++;
    }
  }
  if (control / head.length > MAX_CONTROL_SHARE) {
    throw binaryError(path, "more than 10% of its first bytes are control characters");
  }

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw encodingError(path, "it contains byte sequences that are not UTF-8", cause);
  }
  if (text.startsWith("\uFEFF")) {
    text = text.slice(1);
  }
  if (text.trim() === "") {
    throw emptyError(path, "the file contains only whitespace");
  }
  return text;
}

/**
 * Decodes and parses a file by its extension; every failure is a PipelineError naming the path.
 * Async because PDF extraction is. `ocr` reads PDF pages that have no text layer; without it they are left out.
 */
export async function parseDocument(
  bytes: Uint8Array,
  path: string,
  opts: { ocr?: PdfOcr | undefined } = {},
): Promise<ParsedDocument> {
  const format = formatForPath(path);
  if (format === null) {
    throw new PipelineError(
      "unsupported_format",
      `"${path}" has a file type that cannot be indexed. Supported extensions are ${Object.keys(FORMATS).join(", ")}.`,
      { context: { path } },
    );
  }
  if (format === "pdf") {
    if (bytes.length === 0) {
      throw emptyError(path, "the file is empty", format);
    }
    return parsePdf(bytes, path, opts.ocr);
  }
  if (format === "docx") {
    if (bytes.length === 0) {
      throw emptyError(path, "the file is empty", format);
    }
    const doc = await parseDocx(bytes, path);
    if (!doc.sections.some((s) => s.text.trim() !== "")) {
      throw emptyError(path, "the Word document has no text", format);
    }
    return doc;
  }
  const source = decodeText(bytes, path);
  const doc = format === "markdown" ? parseMarkdown(source) : format === "html" ? parseHtml(source) : parseText(source);
  if (!doc.sections.some((s) => s.text.trim() !== "")) {
    throw emptyError(
      path,
      `it has no readable text once ${format === "html" ? "markup and scripts are" : "front matter is"} removed`,
      format,
    );
  }
  return doc;
}

function emptyError(path: string, reason: string, format?: DocumentFormat): PipelineError {
  return new PipelineError(
    "empty_document",
    `"${path}" cannot be indexed because ${reason}. Add text to it or remove it from the source.`,
    {
      context: { path, ...(format ? { format } : {}) },
    },
  );
}

function encodingError(path: string, reason: string, cause: unknown): PipelineError {
  return new PipelineError(
    "invalid_encoding",
    `"${path}" is not valid UTF-8 text: ${reason}. Convert it to UTF-8 (for example with iconv) and save it again.`,
    { cause, context: { path } },
  );
}

function binaryError(path: string, reason: string): PipelineError {
  return new PipelineError(
    "binary_content",
    `"${path}" looks like a binary file, not text: ${reason}. Remove it from the source or exclude its extension.`,
    { context: { path } },
  );
}
