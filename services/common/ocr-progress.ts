import type { OcrPageEvent, PdfOcr } from "../../pipelines/parse/ocr.js";
import type { Logger } from "./log.js";
import { createProgress, type Progress } from "./progress.js";

/** Pages OCR'd so far by a process, for its closing summary. */
export interface OcrTally {
  pages: number;
  failed: number;
  /** Sum of the pages' render + recognise time. */
  ms: number;
}

/** "12 pages OCR'd (1 failed), 7.5 pages/min" or null when nothing was OCR'd. */
export function describeOcr(t: OcrTally): string | null {
  if (t.pages === 0) {
    return null;
  }
  const perMinute = t.ms > 0 ? (t.pages * 60_000) / t.ms : 0;
  return `${t.pages} page${t.pages === 1 ? "" : "s"} OCR'd${t.failed ? ` (${t.failed} failed)` : ""}, ${perMinute.toFixed(1)} pages/min`;
}

/**
 * Shows OCR as it happens, in the start-up scan's backlog and in workers: one progress line per
 * scanned document (drawn in place on a terminal, a plain line every few seconds elsewhere) and
 * a log line when its pages are done. OCR is the slow part of ingesting a scan, often a minute a
 * document, so a silent process looks hung. Returns the unsubscribe function.
 */
export function showOcrProgress(ocr: PdfOcr, opts: { log: Logger; stream?: NodeJS.WriteStream }): () => void {
  const open = new Map<string, { progress: Progress; tally: OcrTally }>();
  return ocr.onPage((e: OcrPageEvent) => {
    let doc = open.get(e.path);
    if (!doc) {
      doc = {
        progress: createProgress({ label: `OCR ${e.path}`, total: e.total, stream: opts.stream }),
        tally: { pages: 0, failed: 0, ms: 0 },
      };
      open.set(e.path, doc);
    }
    doc.tally.pages++;
    doc.tally.ms += e.ms;
    if (!e.ok) {
      doc.tally.failed++;
    }
    doc.progress.tick(1, `page ${e.page}`);
    if (e.done >= e.total) {
      open.delete(e.path);
      doc.progress.done(describeOcr(doc.tally) ?? undefined);
      opts.log.info("OCR done", { path: e.path, pages: doc.tally.pages, failed: doc.tally.failed, ms: doc.tally.ms });
    }
  });
}

/** Counts every page a process OCRs and hands each to `onPage` (the CLI's progress note). */
export function tallyOcr(
  ocr: PdfOcr,
  onPage: (e: OcrPageEvent) => void = () => {},
): { tally: OcrTally; stop: () => void } {
  const tally: OcrTally = { pages: 0, failed: 0, ms: 0 };
  const stop = ocr.onPage((e) => {
    tally.pages++;
    tally.ms += e.ms;
    if (!e.ok) {
      tally.failed++;
    }
    onPage(e);
  });
  return { tally, stop };
}
