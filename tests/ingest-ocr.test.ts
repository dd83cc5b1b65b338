import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isPipelineError } from "../pipelines/errors.js";
import { parseDocument } from "../pipelines/parse/index.js";
import { createTesseractJsEngine, fromTsv, OcrError } from "../pipelines/parse/ocr-engines.js";
import { createPdfOcr, pagesNeedingOcr, summarizeTextLayer } from "../pipelines/parse/ocr.js";
import { createPdfjsRenderer } from "../pipelines/parse/pdf-render.js";
import { sourceIdFor } from "../pipelines/store/catalog.js";
import { makeCore } from "./support/core.js";
import { makePdf } from "./support/pdf.js";
import { startPipeline, waitFor } from "./support/pipeline.js";
import { characterErrorRate, concatPdfs, rasterizePdf } from "./support/scanned-pdf.js";
import { tempDir } from "./support/temp-dir.js";

// OCR runs a page or two at a bounded 200 dpi; on two shared cores one page still takes 10-30 s.
const OCR_TIMEOUT = 240_000;
const LINES = [
  "The harbour master records every vessel that enters the port after sunset.",
  "Each entry gives the vessel's name, its flag, its draught in metres and the berth",
  "assigned to it. Tankers above forty thousand tonnes wait at the outer anchorage",
  "until the tide reaches its full height, which happens twice a day.",
];
const ORIGINAL = LINES.join("\n");
// A page full of text, which is never OCR'd (a sparse one would be, to check for text in images).
const fullPage = (topic: string) =>
  Array.from(
    { length: 14 },
    (_, i) => `Line ${i + 1} of the ${topic}: lamps trimmed, lenses polished, fog horn tested.`,
  ).join("\n");
const DPI = 200;

// tesseract.js and pdf.js ship in npm, so these tests need nothing installed on the machine.
const ocrSettings = { engine: "tesseract.js", renderer: "pdfjs", dpi: DPI } as const;

describe("which pages are OCR'd", () => {
  const page = (p: number, text: string, hasText = text !== "") => ({
    page: p,
    text,
    hasText,
    widthPt: 612,
    heightPt: 792,
  });

  it("picks pages without text and pages with too few characters for their area, not pages with text", () => {
    const full = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(40);
    const pages = [
      page(1, full),
      page(2, ""),
      page(3, "Case 1:21-cv-01009 Document 7 Filed 09/14/21 Page 3 of 5", false),
      page(4, "Figure 2: the harbour"),
    ];
    expect(pagesNeedingOcr(pages).map((p) => p.page)).toEqual([2, 3, 4]);
    // Without a known size only an empty text layer counts.
    expect(pagesNeedingOcr([{ ...page(4, "Figure 2: the harbour"), widthPt: null, heightPt: null }])).toEqual([]);
  });

  it("summarises a document's pages as native, ocr, mixed or none with the mean OCR confidence", () => {
    const p = (textLayer: "native" | "ocr" | "none", ocrConfidence: number | null = null) => ({
      page: 1,
      textLayer,
      ocrConfidence,
      chars: 1,
      errorCode: null,
      error: null,
    });
    expect(summarizeTextLayer([p("native"), p("native")])).toEqual({ textLayer: "native", ocrConfidence: null });
    expect(summarizeTextLayer([p("ocr", 80), p("ocr", 90)])).toEqual({ textLayer: "ocr", ocrConfidence: 85 });
    expect(summarizeTextLayer([p("native"), p("ocr", 70), p("none")])).toEqual({
      textLayer: "mixed",
      ocrConfidence: 70,
    });
    expect(summarizeTextLayer([p("none")])).toEqual({ textLayer: "none", ocrConfidence: null });
    expect(summarizeTextLayer(undefined)).toEqual({ textLayer: "native", ocrConfidence: null });
  });

  it("rebuilds text and the mean word confidence from tesseract's TSV", () => {
    const row = (block: number, par: number, line: number, word: number, conf: number, text: string) =>
      ["5", "1", block, par, line, word, "0", "0", "10", "10", conf, text].join("\t");
    const tsv = [
      "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext",
      "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t",
      row(1, 1, 1, 1, 90, "Tide"),
      row(1, 1, 1, 2, 80, "tables"),
      row(1, 1, 2, 1, 70, "printed"),
      row(2, 1, 1, 1, 60, "Harbour"),
    ].join("\n");
    expect(fromTsv(tsv)).toEqual({ text: "Tide tables\nprinted\n\nHarbour", confidence: 75 });
    expect(fromTsv(tsv.split("\n").slice(0, 2).join("\n"))).toEqual({ text: "", confidence: null });
  });
});

describe("OCR of scanned PDFs (tesseract.js, pdf.js)", () => {
  let scanned: Uint8Array;
  const ocr = createPdfOcr(ocrSettings);
  beforeAll(async () => {
    scanned = await rasterizePdf(makePdf([ORIGINAL]), DPI);
  }, OCR_TIMEOUT);
  afterAll(() => ocr.close());

  it("a scan has no text layer, and without OCR it is reported as such", async () => {
    const err = await parseDocument(scanned, "scan.pdf").catch((e: unknown) => e);
    expect(isPipelineError(err) && err.code).toBe("no_text_layer");
  });

  it(
    "reads a scanned page within 3% character error of the text it was made from, with its confidence",
    async () => {
      const doc = await parseDocument(scanned, "scan.pdf", { ocr });
      expect(doc.pageCount).toBe(1);
      expect(doc.sections.map((s) => s.page)).toEqual([1]);
      const cer = characterErrorRate(ORIGINAL, doc.text);
      expect(cer).toBeLessThanOrEqual(0.03);
      expect(doc.pages).toEqual([
        {
          page: 1,
          textLayer: "ocr",
          ocrConfidence: expect.any(Number),
          chars: expect.any(Number),
          errorCode: null,
          error: null,
        },
      ]);
      expect(doc.pages![0]!.ocrConfidence).toBeGreaterThan(60);
      // Nothing fetched or cached at run time: the model is read from @tesseract.js-data/eng.
      expect(existsSync(join(process.cwd(), "eng.traineddata"))).toBe(false);
    },
    OCR_TIMEOUT,
  );

  it(
    "gives a mixed PDF both: native text where the page has it, OCR where it does not, and names a page OCR cannot read",
    async () => {
      const mixed = await concatPdfs([makePdf([fullPage("lighthouse keepers' log")]), scanned, makePdf([""])]);
      const events: number[] = [];
      const off = ocr.onPage((e) => events.push(e.page));
      const doc = await parseDocument(mixed, "mixed.pdf", { ocr });
      off();
      expect(doc.pages!.map((p) => [p.page, p.textLayer, p.errorCode])).toEqual([
        [1, "native", null],
        [2, "ocr", null],
        [3, "none", "ocr_empty"],
      ]);
      expect(events.sort()).toEqual([2, 3]);
      expect(doc.sections.map((s) => s.page)).toEqual([1, 2]);
      expect(doc.sections[0]!.text).toContain("lighthouse keepers' log");
      expect(characterErrorRate(ORIGINAL, doc.sections[1]!.text)).toBeLessThanOrEqual(0.03);
    },
    OCR_TIMEOUT,
  );

  it(
    "a page over the time limit fails that page, and the engine goes on reading the next",
    async () => {
      const opened = await createPdfjsRenderer().open(scanned);
      const png = await opened.render(1, 100, 60_000).finally(() => opened.close());
      const engine = createTesseractJsEngine({ poolSize: 1 });
      try {
        const err = await engine.recognize(png, 1).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OcrError);
        expect((err as OcrError).code).toBe("ocr_timeout");
        const next = await engine.recognize(png, OCR_TIMEOUT);
        expect(next.text).toMatch(/harbour/i);
      } finally {
        await engine.close();
      }

      const hurried = createPdfOcr({ ...ocrSettings, pageTimeoutMs: 1 });
      const failed = await parseDocument(scanned, "slow.pdf", { ocr: hurried }).catch((e: unknown) => e);
      await hurried.close();
      expect(isPipelineError(failed) && failed.code).toBe("ocr_failed");
      expect((failed as Error).message).toMatch(/slow\.pdf.*page 1: .*longer than 1 ms/);
    },
    OCR_TIMEOUT,
  );
});

describe("scanned PDF through the pipeline", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) {
      await cleanups.pop()!();
    }
  });

  it(
    "indexes the OCR'd text, shows the text layer on the document and /status, and cites the page as OCR'd",
    async () => {
      const dir = tempDir("rag-ocr-");
      // The core's default OCR (auto): the tesseract command where installed, tesseract.js elsewhere.
      writeFileSync(
        join(dir, "harbour-scan.pdf"),
        await concatPdfs([makePdf([fullPage("winter harbour log")]), await rasterizePdf(makePdf([ORIGINAL]), DPI)]),
      );
      const { core, cleanup } = await makeCore("pglite");
      const pipeline = await startPipeline(core, [dir]);
      cleanups.push(async () => {
        await pipeline.stop();
        await cleanup();
      });
      await pipeline.queue.idle();

      const doc = await core.catalog.getDocument(sourceIdFor(dir), "harbour-scan.pdf");
      expect(doc).toMatchObject({ status: "indexed", format: "pdf", pageCount: 2, textLayer: "mixed" });
      expect(doc!.ocrConfidence).toBeGreaterThan(60);

      const detail = (await (await pipeline.app.request(`/documents/${doc!.id}`)).json()) as {
        textLayer: string;
        pages: Array<{ page: number; textLayer: string }>;
      };
      expect(detail.textLayer).toBe("mixed");
      expect(detail.pages.map((p) => [p.page, p.textLayer])).toEqual([
        [1, "native"],
        [2, "ocr"],
      ]);

      const status = (await (await pipeline.app.request("/status")).json()) as {
        textLayers: { documents: Record<string, number>; pages: Record<string, number> };
      };
      expect(status.textLayers.documents).toEqual({ mixed: 1 });
      expect(status.textLayers.pages).toEqual({ native: 1, ocr: 1, none: 0 });

      const body = await waitFor(async () => {
        const r = await pipeline.ask("Where do tankers above forty thousand tonnes wait until the tide is full?");
        return r.body.citations?.length ? r.body : null;
      });
      expect(body.abstained).toBe(false);
      const cited = body.citations.find((c: { snippet: string }) => /anchorage/.test(c.snippet));
      expect(cited).toMatchObject({ path: "harbour-scan.pdf", page: 2, textLayer: "ocr" });
    },
    OCR_TIMEOUT,
  );
});
