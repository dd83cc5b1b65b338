import { PDFDocument } from "pdf-lib";
import { createPdfjsRenderer } from "../../pipelines/parse/pdf-render.js";

/**
 * Turns a PDF into a "scan" of it: each page rendered to an image (pdf.js, `dpi`) and placed alone
 * on a page of the same size, so the result has no text layer at all, as a scanner's output.
 */
export async function rasterizePdf(pdf: Uint8Array, dpi: number): Promise<Uint8Array> {
  const source = await PDFDocument.load(pdf);
  const out = await PDFDocument.create();
  const opened = await createPdfjsRenderer().open(pdf);
  try {
    for (const [i, page] of source.getPages().entries()) {
      const { width, height } = page.getSize();
      const image = await out.embedPng(await opened.render(i + 1, dpi, 60_000));
      out.addPage([width, height]).drawImage(image, { x: 0, y: 0, width, height });
    }
  } finally {
    await opened.close();
  }
  return out.save();
}

/** A PDF made of the given PDFs' pages in order (e.g. a text page followed by a scanned one). */
export async function concatPdfs(parts: Uint8Array[]): Promise<Uint8Array> {
  const out = await PDFDocument.create();
  for (const part of parts) {
    const doc = await PDFDocument.load(part);
    for (const page of await out.copyPages(doc, doc.getPageIndices())) {
      out.addPage(page);
    }
  }
  return out.save();
}

/** Levenshtein distance over characters, two rows of memory (texts of a page or two). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Character error rate of `recognised` against `truth`, whitespace runs counted as one space. */
export function characterErrorRate(truth: string, recognised: string): number {
  const norm = (s: string) => s.replace(/\s+/g, " ").trim();
  return editDistance(norm(truth), norm(recognised)) / norm(truth).length;
}
