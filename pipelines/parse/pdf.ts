import { PipelineError } from "../errors.js";
import { ocrFoundNothing, readPdfPages, type PdfOcr } from "./ocr.js";
import { pageLines, rebuildPdfTables, type PdfTextItem } from "./pdf-tables.js";
import type { ParsedDocument, ParsedSection } from "./types.js";

// Fewer words than this (after stamps and running lines are set aside) is a page without text:
// scanners stamp "Case 1:21-cv-… Page 1 of 5" onto image-only pages, and that is not content.
const MIN_WORDS_PER_PAGE = 3;
const WORD = /\p{L}{2,}/gu;
const PAGE_MARKER = /^(?:[-–—\s]*\d+[-–—\s]*|.*\bpage\s+\d+\s*(?:of|\/)\s*\d+.*|\d+\s*(?:of|\/)\s*\d+)$/i;
// A line (digits ignored) on this share of pages is a running header, footer or stamp.
const RUNNING_LINE_SHARE = 0.6;
const RUNNING_LINE_MIN_PAGES = 3;

/**
 * Extracts a PDF's text layer page by page (pdf-parse v2, i.e. pdf.js). Each page with text
 * becomes one section carrying its 1-based `page`; pages without text are left out. Pages whose
 * text layer is empty or sparse go through `ocr` (pipelines/parse/ocr.ts) when given. Throws
 * `encrypted_file`, `corrupt_file`, or `no_text_layer` / `ocr_failed` when no page gives text.
 */
export async function parsePdf(bytes: Uint8Array, path: string, ocr?: PdfOcr): Promise<ParsedDocument> {
  // Loaded on first use: pdf.js is large, and the watcher process imports this module for formatForPath.
  const { PDFParse } = await import("pdf-parse");
  // pdf.js may transfer the array to its worker and detach it; the caller still needs its bytes.
  const parser = new PDFParse({ data: new Uint8Array(bytes) });
  let pages: Array<{ num: number; text: string }>;
  let pageCount: number;
  let title: string | null;
  let sizes: Map<number, { width: number; height: number }>;
  try {
    const result = await parser.getText({ pageJoiner: "" });
    pages = result.pages;
    pageCount = result.total;
    const info = await parser.getInfo({ parsePageInfo: true }).catch(() => null);
    sizes = new Map((info?.pages ?? []).map((p) => [p.pageNumber, { width: p.width, height: p.height }]));
    const raw = (info?.info as { Title?: unknown } | undefined)?.Title;
    title = typeof raw === "string" && raw.trim() !== "" ? raw.trim() : null;
  } catch (cause) {
    throw pdfError(cause, path);
  } finally {
    await parser.destroy().catch(() => {});
  }

  const tables = await tablePages(bytes);
  const cleaned = pages.map((p) => ({ page: p.num, text: cleanPageText(tables.get(p.num) ?? p.text) }));
  const running = runningLines(cleaned.map((p) => p.text));
  const native = cleaned.map((p) => ({
    ...p,
    hasText: p.text !== "" && hasRealText(p.text, running),
    widthPt: sizes.get(p.page)?.width ?? null,
    heightPt: sizes.get(p.page)?.height ?? null,
  }));
  // Pages without a text layer are OCR'd here; `texts` holds only pages that have text either way.
  const { texts, pages: pageTexts } = await readPdfPages(bytes, path, native, ocr);
  let text = "";
  const sections: ParsedSection[] = [];
  for (const p of cleaned) {
    const pageText = texts.get(p.page);
    if (pageText === undefined) {
      continue;
    }
    if (text !== "") {
      text += "\n\n";
    }
    sections.push({
      text: pageText,
      start: text.length,
      end: text.length + pageText.length,
      headingPath: [],
      page: p.page,
    });
    text += pageText;
  }
  if (sections.length === 0 && ocr && ocr.settings.engine !== "off") {
    throw ocrFoundNothing(path, pageCount, pageTexts);
  }
  if (sections.length === 0) {
    throw new PipelineError(
      "no_text_layer",
      `"${path}" has no extractable text on any of its ${pageCount} page(s): it looks like a scanned image. ` +
        "Run it through OCR (for example ocrmypdf) and save the result in its place.",
      { context: { path, pageCount } },
    );
  }
  return { format: "pdf", text, title, sections, pageCount, pages: pageTexts };
}

/**
 * Pages holding a table, as text with each table row written with its column headers
 * (pdf-tables.ts). pdf-parse's text says nothing of where a line's items stand, so the items are
 * read again from pdf.js; a page without a table keeps pdf-parse's text. A PDF pdf.js cannot read
 * for this has no tables rebuilt: its text was read above, and that is what matters.
 */
async function tablePages(bytes: Uint8Array): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const { getDocument } = await import("pdfjs-dist/legacy/build/pdf.mjs");
  const doc = await getDocument({ data: new Uint8Array(bytes), verbosity: 0 }).promise.catch(() => null);
  if (!doc) {
    return out;
  }
  try {
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      const lines = pageLines(content.items.filter((i) => "str" in i) as PdfTextItem[]);
      const rebuilt = rebuildPdfTables(lines);
      if (rebuilt !== lines) {
        out.set(n, rebuilt);
      }
      page.cleanup();
    }
  } catch {
    // As above: the table rebuild is an improvement, never a reason to fail a readable PDF.
  } finally {
    await doc.destroy();
  }
  return out;
}

/**
 * Page text as a reader would copy it: gaps outside tables (tabs) become spaces, and a word
 * hyphenated across a line break is joined so that "signif-\ncant" can be found as "significant".
 */
function cleanPageText(raw: string): string {
  return raw
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t\u00a0]+/g, " ")
    .replace(/ ?\n ?/g, "\n")
    .replace(/(\p{Ll})-\n(\p{Ll})/gu, "$1$2")
    .trim();
}

const lineKey = (line: string) => line.replace(/\d+/g, "#").trim().toLowerCase();

/** Lines that repeat on most pages once digits are ignored (page stamps, running heads). */
function runningLines(pageTexts: string[]): Set<string> {
  if (pageTexts.length < RUNNING_LINE_MIN_PAGES) {
    return new Set();
  }
  const seen = new Map<string, number>();
  for (const text of pageTexts) {
    for (const key of new Set(text.split("\n").map(lineKey))) {
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  const min = Math.ceil(pageTexts.length * RUNNING_LINE_SHARE);
  return new Set([...seen].filter(([, n]) => n >= min).map(([key]) => key));
}

function hasRealText(text: string, running: Set<string>): boolean {
  let words = 0;
  for (const line of text.split("\n")) {
    if (PAGE_MARKER.test(line.trim()) || running.has(lineKey(line))) {
      continue;
    }
    words += line.match(WORD)?.length ?? 0;
    if (words >= MIN_WORDS_PER_PAGE) {
      return true;
    }
  }
  return false;
}

/** pdf.js names its exceptions; anything it throws for these bytes will recur, so none is retried. */
function pdfError(cause: unknown, path: string): PipelineError {
  const name = (cause as Error | undefined)?.name ?? "";
  const detail = (cause as Error | undefined)?.message ?? String(cause);
  if (name === "PasswordException") {
    return new PipelineError(
      "encrypted_file",
      `"${path}" is a password-protected PDF and cannot be read (${detail}). Save an unprotected copy in its place.`,
      { cause, context: { path } },
    );
  }
  return new PipelineError(
    "corrupt_file",
    `"${path}" is not a readable PDF: ${detail}. It may be truncated or damaged; export it again from its source.`,
    { cause, context: { path, pdfjsError: name } },
  );
}
