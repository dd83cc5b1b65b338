/**
 * OCR figures for `npm run bench:ingest` (issue 19): pages per minute of each OCR engine available
 * here on the scanned dr_a_order.pdf (5 pages of 1200 dpi CCITT images) and the time each renderer
 * takes for one page, all in the same run so they compare; then the file through the service's own watcher, queue and worker,
 * and questions whose answers sit on known pages, to check that the scan is answerable and cited
 * to the right page as OCR'd text. Figures only, no assertions.
 *
 *   npm run bench:ingest -- --only ocr [--docs ../shared/eval-data/docs/]
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Embedder } from "../pipelines/embed/index.js";
import { parseDocument } from "../pipelines/parse/index.js";
import { tesseractCommandAvailable } from "../pipelines/parse/ocr-engines.js";
import { createPdfOcr, type OcrSettings } from "../pipelines/parse/ocr.js";
import { createPdfjsRenderer, createPdftoppmRenderer, pdftoppmAvailable } from "../pipelines/parse/pdf-render.js";
import { createExtractiveGenerator } from "../pipelines/generate/extractive.js";
import { createApp } from "../services/api/app.js";
import { createCoreDeps } from "../services/common/deps.js";
import { createLogger } from "../services/common/log.js";
import { describeOcr, tallyOcr } from "../services/common/ocr-progress.js";
import { createInProcessQueue } from "../services/common/queue/in-process.js";
import { createSourceWatcher } from "../services/watcher/watcher.js";
import { createWorker } from "../services/common/ingest-worker.js";

// Questions whose answers are on one page of the order (read from the scan itself).
const QUESTIONS: Array<{ question: string; page: number; expect: RegExp }> = [
  {
    question: "When did the New York State Department of Health promulgate the COVID-19 vaccination regulation?",
    page: 1,
    expect: /August 26, 2021/,
  },
  { question: "How many medical professionals are the named plaintiffs?", page: 2, expect: /seventeen/i },
  {
    question: "Is the DOH barred from interfering with religious exemptions from COVID-19 vaccination?",
    page: 3,
    expect: /interfering/i,
  },
  { question: "When is the in-person oral argument on the TRO to be held?", page: 4, expect: /September 28, 2021/ },
];

const log = createLogger("silent");

/** Pages per minute of each engine here over the whole scan (`tesseract` only where installed), same renderer. */
async function enginePagesPerMinute(pdf: Uint8Array) {
  const engines: Array<OcrSettings["engine"]> = (await tesseractCommandAvailable())
    ? ["tesseract", "tesseract.js"]
    : ["tesseract.js"];
  const rows: string[] = [];
  for (const engine of engines) {
    const ocr = createPdfOcr({ engine });
    const { tally, stop } = tallyOcr(ocr);
    const started = Date.now();
    const doc = await parseDocument(pdf, "dr_a_order.pdf", { ocr });
    const wall = (Date.now() - started) / 1000;
    const renderer = (await ocr.resolved())!.renderer;
    stop();
    await ocr.close();
    const conf = doc.pages!.filter((p) => p.ocrConfidence !== null).map((p) => p.ocrConfidence!);
    const meanConf = conf.reduce((a, b) => a + b, 0) / Math.max(1, conf.length);
    rows.push(
      `| ${engine} | ${renderer} | ${tally.pages} | ${wall.toFixed(1)} | ${((tally.pages * 60) / wall).toFixed(1)} | ${meanConf.toFixed(0)} | ${doc.text.length} |`,
    );
    console.log(`  ${engine} + ${renderer}: ${describeOcr(tally)} (load ${loadavg()[0]!.toFixed(1)})`);
  }
  return rows;
}

/** Seconds to render page 1 at 300 dpi with each renderer here: one page, as pdf.js takes many seconds on these scans. */
async function renderSeconds(pdf: Uint8Array) {
  const renderers = (await pdftoppmAvailable())
    ? [createPdftoppmRenderer(), createPdfjsRenderer()]
    : [createPdfjsRenderer()];
  const rows: string[] = [];
  for (const renderer of renderers) {
    const opened = await renderer.open(pdf);
    const started = Date.now();
    const png = await opened.render(1, 300, 600_000).finally(() => opened.close());
    rows.push(
      `| ${renderer.name} | ${((Date.now() - started) / 1000).toFixed(1)} | ${(png.length / 1024).toFixed(0)} KiB |`,
    );
  }
  return rows;
}

/** dr_a_order.pdf through the watcher, queue and worker; then the questions through /ask. */
async function answerable(pdfPath: string, model: Embedder) {
  const dir = mkdtempSync(join(tmpdir(), "rag-bench-ocr-"));
  const dataDir = mkdtempSync(join(tmpdir(), "rag-bench-ocr-db-"));
  copyFileSync(pdfPath, join(dir, "dr_a_order.pdf"));
  const core = await createCoreDeps(
    { DATA_DIR: dataDir, DATABASE_POOL_MAX: 1, EMBEDDING_MODEL: "use-lite", MAX_FILE_BYTES: 50 * 1024 * 1024 },
    log,
    { embedder: model, inMemory: true },
  );
  const queue = createInProcessQueue({});
  createWorker({ core, queue, log, maxFileBytes: 50 * 1024 * 1024 }).start();
  const watcher = createSourceWatcher({
    catalog: core.catalog,
    queue,
    log,
    dirs: [dir],
    collection: "default",
    maxFileBytes: 50 * 1024 * 1024,
  });
  try {
    const started = Date.now();
    await watcher.start();
    await queue.idle();
    const doc = (await core.catalog.allDocuments())[0]!;
    console.log(
      `  indexed in ${((Date.now() - started) / 1000).toFixed(1)} s: status ${doc.status}, text layer ${doc.textLayer}, ` +
        `mean OCR confidence ${doc.ocrConfidence?.toFixed(0)}, ${doc.chunkCount} chunks${doc.error ? `, ${doc.error}` : ""}`,
    );
    const app = createApp({
      config: { MAX_BODY_BYTES: 64 * 1024, MAX_QUESTION_CHARS: 2000, DEFAULT_TOP_K: 8 },
      log,
      generator: createExtractiveGenerator(),
      core,
      queue,
    });
    const rows: string[] = [];
    let right = 0;
    for (const q of QUESTIONS) {
      const res = await app.request("/ask", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: q.question }),
      });
      const body = (await res.json()) as {
        answer: string;
        abstained: boolean;
        citations: Array<{ page: number | null; textLayer?: string }>;
      };
      const first = body.citations[0];
      const ok = !body.abstained && first?.page === q.page && first.textLayer === "ocr" && q.expect.test(body.answer);
      if (ok) {
        right++;
      }
      rows.push(
        `| ${q.question} | ${q.page} | ${first ? `${first.page} (${first.textLayer ?? "?"})` : "none"} | ${ok ? "yes" : "no"} | ${body.answer.replace(/\s+/g, " ").slice(0, 90)} |`,
      );
    }
    return { rows, right };
  } finally {
    await watcher.close();
    await queue.close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Prints OCR pages per minute by engine and renderer, and dr_a_order.pdf's answerability. */
export async function benchOcr(docsDir: string, model: Embedder): Promise<void> {
  const pdfPath = join(docsDir, "pdf/dr_a_order.pdf");
  console.log(`\nOCR: ${pdfPath}`);
  const load0 = loadavg();
  const pdf = new Uint8Array(readFileSync(pdfPath));
  const engineRows = await enginePagesPerMinute(pdf);
  const renderRows = await renderSeconds(pdf);
  const { rows, right } = await answerable(pdfPath, model);
  const load1 = loadavg();
  console.log(
    `\nload average ${load0.map((l) => l.toFixed(1)).join(" ")} at the start of the OCR figures, ${load1.map((l) => l.toFixed(1)).join(" ")} at the end\n`,
  );
  console.log("| OCR engine | renderer | pages | wall s | pages/min | mean confidence | characters |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of engineRows) {
    console.log(r);
  }
  console.log("\n| renderer | page 1 at 300 dpi, s | PNG |");
  console.log("|---|---|---|");
  for (const r of renderRows) {
    console.log(r);
  }
  console.log(
    `\ndr_a_order.pdf: ${right} of ${QUESTIONS.length} questions answered and cited to the right page as OCR'd text (default engine and renderer)\n`,
  );
  console.log("| question | page | first citation | right | answer |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) {
    console.log(r);
  }
}
