import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isPipelineError } from "../pipelines/errors.js";
import { parseDocument } from "../pipelines/parse/index.js";
import { sourceIdFor } from "../pipelines/store/catalog.js";
import { makeCore } from "./support/core.js";
import { makePdf } from "./support/pdf.js";
import { startPipeline, waitFor } from "./support/pipeline.js";

const PDF_DIR = new URL("../../shared/eval-data/docs/pdf/", import.meta.url).pathname;
// Made with `qpdf --encrypt secret owner 256 -- plain.pdf encrypted.pdf` from a makePdf() page.
const ENCRYPTED = new URL("./fixtures/encrypted.pdf", import.meta.url).pathname;
const COURT_PRINTS = [
  ["598us1r3_j4ek.pdf", 24],
  ["598us1r4_1a7d.pdf", 32],
  ["598us1r5_1b72.pdf", 18],
  ["598us1r6_0813.pdf", 32],
] as const;

async function rejection(bytes: Uint8Array, path: string) {
  const err = await parseDocument(bytes, path).then(() => undefined, (e: unknown) => e);
  if (!isPipelineError(err)) throw new Error(`expected a PipelineError, got ${String(err)}`);
  return err;
}

describe("PDF parsing", () => {
  it("gives one section per page with text, numbered from 1, and skips pages without text", async () => {
    const doc = await parseDocument(makePdf(["First page about lighthouses.", "", "Third page about fog (and horns)."]), "a.pdf");
    expect(doc.format).toBe("pdf");
    expect(doc.pageCount).toBe(3);
    expect(doc.sections.map((s) => [s.page, s.text])).toEqual([
      [1, "First page about lighthouses."],
      [3, "Third page about fog (and horns)."],
    ]);
    for (const s of doc.sections) expect(doc.text.slice(s.start, s.end)).toBe(s.text);
  });

  it.each(COURT_PRINTS)("reads the court print %s page by page (%i pages)", async (name, pages) => {
    const doc = await parseDocument(readFileSync(join(PDF_DIR, name)), name);
    expect(doc.pageCount).toBe(pages);
    expect(doc.sections.map((s) => s.page)).toEqual(Array.from({ length: pages }, (_, i) => i + 1));
    expect(doc.text).toContain("SUPREME COURT");
    // Words hyphenated across a line break are joined, so they can be searched for.
    expect(doc.text).not.toMatch(/\p{Ll}-\n\p{Ll}/u);
  });

  it("reports a scanned PDF as having no text layer instead of indexing its page stamps", async () => {
    // pdf.js finds only the court's filing stamp ("Case 1:21-cv-… Page 1 of 5") on each scanned page.
    const err = await rejection(readFileSync(join(PDF_DIR, "dr_a_order.pdf")), "orders/dr_a_order.pdf");
    expect(err.code).toBe("no_text_layer");
    expect(err.message).toContain("orders/dr_a_order.pdf");
    expect(err.message).toContain("5 page(s)");
    expect(err.message).toMatch(/OCR/);
  });

  it.each([
    ["truncated", () => readFileSync(join(PDF_DIR, "598us1r5_1b72.pdf")).subarray(0, 100_000)],
    ["random bytes", () => Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)],
    ["a header and nothing else", () => new TextEncoder().encode("%PDF-1.7\n")],
  ])("reports a %s PDF as corrupt", async (_, bytes) => {
    const err = await rejection(new Uint8Array(bytes()), "broken.pdf");
    expect(err.code).toBe("corrupt_file");
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("broken.pdf");
  });

  it("reports a password-protected PDF as encrypted, and an empty one as empty", async () => {
    const err = await rejection(readFileSync(ENCRYPTED), "locked.pdf");
    expect(err.code).toBe("encrypted_file");
    expect(err.message).toMatch(/password/);
    expect((await rejection(new Uint8Array(), "empty.pdf")).code).toBe("empty_document");
  });
});

describe("PDF through the pipeline", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it("indexes a court print with page numbers and /ask cites the page", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rag-pdf-"));
    copyFileSync(join(PDF_DIR, "598us1r5_1b72.pdf"), join(dir, "bartenwerfer.pdf"));
    const { core, cleanup } = await makeCore("pglite");
    const pipeline = await startPipeline(core, [dir]);
    cleanups.push(async () => (await pipeline.stop(), await cleanup(), rmSync(dir, { recursive: true, force: true })));
    await pipeline.queue.idle();

    const doc = await core.catalog.getDocument(sourceIdFor(dir), "bartenwerfer.pdf");
    expect(doc).toMatchObject({ status: "indexed", format: "pdf", pageCount: 18 });

    const body = await waitFor(async () => {
      const r = await pipeline.ask("Which Justice delivered the opinion of the Court in Bartenwerfer v. Buckley?");
      return r.body.citations?.length ? r.body : null;
    });
    expect(body.abstained).toBe(false);
    const cited = body.citations.filter((c: { path: string }) => c.path === "bartenwerfer.pdf");
    expect(cited.length).toBeGreaterThan(0);
    for (const c of cited) expect(c.page).toBeGreaterThanOrEqual(1);
    const barrett = cited.find((c: { snippet: string }) => c.snippet.includes("Barrett"));
    expect(barrett?.page).toBe(5);
  });
});
