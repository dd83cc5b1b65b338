import { PipelineError } from "../errors.js";
import {
  createTesseractCommandEngine,
  createTesseractJsEngine,
  OcrError,
  tesseractCommandAvailable,
  type OcrEngine,
} from "./ocr-engines.js";
import { createPdfjsRenderer, createPdftoppmRenderer, pdftoppmAvailable, type PageRenderer } from "./pdf-render.js";
import type { PageText } from "./types.js";

export { OcrError };

/** OCR_* settings (services/common/config.ts); the defaults are what the measurements below chose. */
export interface OcrSettings {
  /**
   * auto: the `tesseract` command when installed, else tesseract.js. Per 300 dpi page of dr_a_order.pdf
   * the command took 5.6 s against 9.3 s at load 12, and 10.1 s against 8.8 s interleaved at load 28,
   * with cleaner text (mean confidence 94 against 91; tesseract.js reads the caption's rules as "|").
   */
  engine: "auto" | "tesseract" | "tesseract.js" | "off";
  /** auto: pdftoppm when installed (about ten times faster on scans), else pdf.js. */
  renderer: "auto" | "pdftoppm" | "pdfjs";
  /** Render resolution; Tesseract reads body text best at about 300 dpi. */
  dpi: number;
  /** Longest side of a rendered page in pixels, whatever the page size: bounds memory and time. */
  maxPixels: number;
  /** Rendering and recognising one page past this fails that page, not the document or the service. */
  pageTimeoutMs: number;
  /** Pages of one document read side by side (each one engine process or thread). */
  concurrency: number;
  /** tesseract.js workers are replaced after this many pages. */
  recycleAfter: number;
}

export const DEFAULT_OCR_SETTINGS: OcrSettings = {
  engine: "auto",
  renderer: "auto",
  dpi: 300,
  maxPixels: 4200,
  pageTimeoutMs: 120_000,
  concurrency: 1,
  recycleAfter: 50,
};

// A page with text but fewer letters and digits than this per square inch is treated as a scan
// with a stamp or a caption on it: a letter-size page (93.5 in²) then needs about 140. A full text
// page has 25-40 per in²; a scanned court order's filing stamp alone gives 0.5.
const MIN_CHARS_PER_SQ_INCH = 1.5;
// A sparse native page is OCR'd, but its own text is kept unless OCR finds clearly more.
const OCR_GAIN_TO_REPLACE = 1.2;
const CHAR = /[\p{L}\p{N}]/gu;
const countChars = (text: string) => text.match(CHAR)?.length ?? 0;

/** A page as the PDF's text layer gave it, with its size in points when known. */
export interface NativePage {
  page: number;
  text: string;
  /** The text layer holds real words (not just stamps and running lines). */
  hasText: boolean;
  widthPt: number | null;
  heightPt: number | null;
}

/** One page the OCR service read: its text and mean confidence, or why it could not. */
export type PageRead =
  | { page: number; text: string; confidence: number | null; ms: number }
  | { page: number; error: OcrError; ms: number };

export interface OcrPageEvent {
  path: string;
  page: number;
  /** Pages of this document read so far, and how many it needs read. */
  done: number;
  total: number;
  ms: number;
  ok: boolean;
}

/** Reads scanned PDF pages: renders each and recognises it, off the main thread. */
export interface PdfOcr {
  readonly settings: OcrSettings;
  /** The engine and renderer `auto` resolved to (checks what is installed on first call). */
  resolved(): Promise<{ engine: OcrEngine["name"]; renderer: PageRenderer["name"] } | null>;
  readPages(pdf: Uint8Array, path: string, pages: NativePage[]): Promise<PageRead[]>;
  /** Called after each page; returns the unsubscribe function. */
  onPage(listener: (event: OcrPageEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * The OCR service a process builds once. Nothing starts until a scanned page arrives; the engine
 * and renderer are chosen then (what `auto` finds installed) and kept until close().
 */
export function createPdfOcr(
  partial: Partial<OcrSettings> = {},
  injected: { engine?: OcrEngine; renderer?: PageRenderer } = {},
): PdfOcr {
  const settings = { ...DEFAULT_OCR_SETTINGS, ...partial };
  const listeners = new Set<(e: OcrPageEvent) => void>();
  let parts: Promise<{ engine: OcrEngine; renderer: PageRenderer }> | null = null;

  const load = () =>
    (parts ??= (async () => {
      const useCommand =
        settings.engine === "tesseract" || (settings.engine === "auto" && (await tesseractCommandAvailable()));
      const engine =
        injected.engine ??
        (useCommand
          ? createTesseractCommandEngine()
          : createTesseractJsEngine({ poolSize: settings.concurrency, recycleAfter: settings.recycleAfter }));
      const usePoppler =
        settings.renderer === "pdftoppm" || (settings.renderer === "auto" && (await pdftoppmAvailable()));
      const renderer = injected.renderer ?? (usePoppler ? createPdftoppmRenderer() : createPdfjsRenderer());
      return { engine, renderer };
    })());

  return {
    settings,
    async resolved() {
      if (settings.engine === "off") {
        return null;
      }
      const { engine, renderer } = await load();
      return { engine: engine.name, renderer: renderer.name };
    },
    async readPages(pdf, path, pages) {
      if (settings.engine === "off" || pages.length === 0) {
        return [];
      }
      const { engine, renderer } = await load();
      const opened = await renderer.open(pdf);
      const reads: PageRead[] = [];
      let next = 0;
      const lane = async () => {
        for (let k = next++; k < pages.length; k = next++) {
          const p = pages[k]!;
          const started = Date.now();
          const read = await readOne(engine, opened, p, settings).then(
            (r): PageRead => ({ page: p.page, ...r, ms: Date.now() - started }),
            (err: unknown): PageRead => ({ page: p.page, error: asOcrError(err), ms: Date.now() - started }),
          );
          reads.push(read);
          const event = {
            path,
            page: p.page,
            done: reads.length,
            total: pages.length,
            ms: read.ms,
            ok: !("error" in read),
          };
          for (const l of listeners) {
            l(event);
          }
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(settings.concurrency, pages.length) }, lane));
      } finally {
        await opened.close().catch(() => {});
      }
      return reads.sort((a, b) => a.page - b.page);
    },
    onPage(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      const p = parts;
      parts = null;
      if (p) {
        await (await p).engine.close();
      }
    },
  };
}

async function readOne(
  engine: OcrEngine,
  opened: Awaited<ReturnType<PageRenderer["open"]>>,
  p: NativePage,
  s: OcrSettings,
) {
  const deadline = Date.now() + s.pageTimeoutMs;
  const longest = Math.max(p.widthPt ?? 0, p.heightPt ?? 0);
  const dpi = longest > 0 ? Math.min(s.dpi, (s.maxPixels * 72) / longest) : s.dpi;
  const png = await opened.render(p.page, dpi, s.pageTimeoutMs);
  const left = deadline - Date.now();
  if (left <= 0) {
    throw new OcrError("ocr_timeout", `page ${p.page} took longer than ${s.pageTimeoutMs} ms to render`);
  }
  return engine.recognize(png, left);
}

function asOcrError(err: unknown): OcrError {
  if (err instanceof OcrError) {
    return err;
  }
  return new OcrError("ocr_failed", (err as Error)?.message ?? String(err), { cause: err });
}

/** Pages whose text layer is empty, or sparse for the page's area: the ones to OCR. */
export function pagesNeedingOcr(pages: NativePage[]): NativePage[] {
  return pages.filter((p) => {
    if (!p.hasText) {
      return true;
    }
    if (!p.widthPt || !p.heightPt) {
      return false;
    }
    return countChars(p.text) / ((p.widthPt / 72) * (p.heightPt / 72)) < MIN_CHARS_PER_SQ_INCH;
  });
}

/**
 * Runs OCR where a page needs it and decides each page's text and text layer. A page left without
 * text says why (`ocr_empty`, `ocr_timeout`, `ocr_failed`, `render_failed`, `ocr_off`).
 */
export async function readPdfPages(
  pdf: Uint8Array,
  path: string,
  native: NativePage[],
  ocr: PdfOcr | undefined,
): Promise<{ texts: Map<number, string>; pages: PageText[] }> {
  const wanted = pagesNeedingOcr(native);
  const reads = new Map((ocr ? await ocr.readPages(pdf, path, wanted) : []).map((r) => [r.page, r]));
  const wantedSet = new Set(wanted.map((p) => p.page));
  const texts = new Map<number, string>();
  const pages: PageText[] = [];
  const nativePage = (p: NativePage) => {
    texts.set(p.page, p.text);
    pages.push({
      page: p.page,
      textLayer: "native",
      ocrConfidence: null,
      chars: countChars(p.text),
      errorCode: null,
      error: null,
    });
  };
  for (const p of native) {
    const read = reads.get(p.page);
    if (!wantedSet.has(p.page)) {
      nativePage(p);
    } else if (read && !("error" in read) && countChars(read.text) > 0) {
      const text = cleanOcrText(read.text);
      if (p.hasText && countChars(text) <= countChars(p.text) * OCR_GAIN_TO_REPLACE) {
        nativePage(p);
      } else {
        texts.set(p.page, text);
        pages.push({
          page: p.page,
          textLayer: "ocr",
          ocrConfidence: read.confidence,
          chars: countChars(text),
          errorCode: null,
          error: null,
        });
      }
    } else if (p.hasText) {
      nativePage(p);
    } else {
      const [errorCode, error] =
        !ocr || ocr.settings.engine === "off"
          ? ["ocr_off", "the page has no text layer and OCR is off (OCR_ENGINE=off)"]
          : !read
            ? ["ocr_failed", "the page was not read"]
            : "error" in read
              ? [read.error.code, read.error.message]
              : ["ocr_empty", "OCR found no text on the page (blank, a picture, or unreadable)"];
      pages.push({ page: p.page, textLayer: "none", ocrConfidence: null, chars: 0, errorCode, error });
    }
  }
  return { texts, pages };
}

/** OCR output as the chunker wants it: single spaces, words hyphenated at a line end joined. */
function cleanOcrText(raw: string): string {
  return raw
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t\u00a0]+/g, " ")
    .replace(/ ?\n ?/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .replace(/(\p{Ll})-\n(\p{Ll})/gu, "$1$2")
    .trim();
}

/** The document's text layer and mean OCR confidence, from its pages. */
export function summarizeTextLayer(pages: PageText[] | undefined): {
  textLayer: "native" | "ocr" | "mixed" | "none";
  ocrConfidence: number | null;
} {
  if (!pages) {
    return { textLayer: "native", ocrConfidence: null };
  }
  const ocrPages = pages.filter((p) => p.textLayer === "ocr");
  const nativePages = pages.filter((p) => p.textLayer === "native");
  const scored = ocrPages.map((p) => p.ocrConfidence).filter((c): c is number => c !== null);
  const ocrConfidence = scored.length ? scored.reduce((a, b) => a + b, 0) / scored.length : null;
  const textLayer =
    ocrPages.length && nativePages.length ? "mixed" : ocrPages.length ? "ocr" : nativePages.length ? "native" : "none";
  return { textLayer, ocrConfidence };
}

/**
 * No page of a PDF gave text even with OCR. Every page read but empty is `no_text_layer` (a blank
 * or picture-only document); otherwise `ocr_failed`, naming each page's failure. Neither is retried:
 * the same pages fail the same way, and the document's previous version stays searchable.
 */
export function ocrFoundNothing(path: string, pageCount: number, pages: PageText[]): PipelineError {
  const failed = pages.filter((p) => p.errorCode !== null && p.errorCode !== "ocr_empty");
  const context = { path, pageCount, pages: pages.map((p) => ({ page: p.page, errorCode: p.errorCode })) };
  if (failed.length === 0) {
    return new PipelineError(
      "no_text_layer",
      `"${path}" has no text layer on any of its ${pageCount} page(s), and OCR found no text on them either: ` +
        "the pages look blank or hold only pictures.",
      { context },
    );
  }
  const reasons = failed
    .slice(0, 3)
    .map((p) => `page ${p.page}: ${p.error}`)
    .join("; ");
  return new PipelineError(
    "ocr_failed",
    `"${path}" has no text layer on any of its ${pageCount} page(s), and OCR could not read ${failed.length} of them (${reasons}). ` +
      "Check the OCR_* settings (OCR_PAGE_TIMEOUT_MS, OCR_ENGINE) or run the file through ocrmypdf.",
    { context },
  );
}
