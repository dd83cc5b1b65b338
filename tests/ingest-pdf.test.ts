import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isPipelineError } from "../pipelines/errors.js";
import { parseDocument } from "../pipelines/parse/index.js";
import { sourceIdFor } from "../pipelines/store/catalog.js";
import { makeCore } from "./support/core.js";
import { makePdf, makeScannedPdf } from "./support/pdf.js";
import { startPipeline, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

// Made with `qpdf --encrypt secret owner 256 -- plain.pdf encrypted.pdf` from a makePdf() page.
const ENCRYPTED = new URL("./fixtures/encrypted.pdf", import.meta.url).pathname;

// Sentences for the body of a generated court print; each page takes its own, so no line repeats
// across pages the way running heads do.
const BODY = [
  "The Bankruptcy Code bars discharge of debts obtained by fraud, and the question is whose fraud counts.",
  "Petitioner sold a house she had renovated with her partner, and the buyer later sued over defects that were not disclosed.",
  "The statute is written in the passive voice, which pulls the actor off the stage and asks only whether the debt arose from fraud.",
  "Partners share liability for one another's torts under the common law of partnership as it stood when the Act was passed.",
  "Congress legislated against that backdrop, and nothing in the text suggests it meant to depart from the settled rule.",
  "The buyer obtained a judgment in state court for the amount he overpaid, together with costs and interest.",
  "A debtor who is liable for a partner's fraud cannot discharge that debt, even if she did not know of the misrepresentation.",
  "The Court of Appeals held that the exception applies regardless of the debtor's own culpability, and we agree.",
  "Innocent debtors are not without protection, since state law decides in the first place who is liable for the fraud.",
  "Our precedent in Strang v. Bradner read the predecessor provision the same way more than a century ago.",
  "The judgment of the Court of Appeals for the Ninth Circuit is affirmed, and the case is remanded for further proceedings.",
];

/**
 * A slip opinion as the Court prints it: a caption on page 1, the opinion's author on page
 * `authorPage`, a running head and page number on every page, and words hyphenated across line
 * breaks, which is what the page-by-page reader and the hyphen joining were written for.
 */
function courtPrint(pageCount: number, authorPage: number): string[] {
  return Array.from({ length: pageCount }, (_, i) => {
    const page = i + 1;
    const lines = [`Cite as: 598 U. S. 69 (2023)`, String(page), "BARTENWERFER v. BUCKLEY", "Opinion of the Court"];
    if (page === 1) {
      lines.push("SUPREME COURT OF THE UNITED STATES", "CERTIORARI TO THE UNITED STATES COURT OF APPEALS");
    }
    if (page === authorPage) {
      lines.push("JUSTICE BARRETT delivered the opinion of the Court.");
    }
    lines.push(
      `Part ${page}. ${BODY[i % BODY.length]}`,
      `The obligation in this part of the record is not discharge-`,
      `able, as the ${page}th paragraph of the opinion explains in full.`,
    );
    return lines.join("\n");
  });
}
const COURT_PRINTS = [24, 32, 18] as const;
const halfOf = (bytes: Uint8Array) => bytes.subarray(0, bytes.length >> 1);

async function rejection(bytes: Uint8Array, path: string) {
  const err = await parseDocument(bytes, path).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isPipelineError(err)) {
    throw new Error(`expected a PipelineError, got ${String(err)}`);
  }
  return err;
}

describe("PDF parsing", () => {
  it("gives one section per page with text, numbered from 1, and skips pages without text", async () => {
    const doc = await parseDocument(
      makePdf(["First page about lighthouses.", "", "Third page about fog (and horns)."]),
      "a.pdf",
    );
    expect(doc.format).toBe("pdf");
    expect(doc.pageCount).toBe(3);
    expect(doc.sections.map((s) => [s.page, s.text])).toEqual([
      [1, "First page about lighthouses."],
      [3, "Third page about fog (and horns)."],
    ]);
    for (const s of doc.sections) {
      expect(doc.text.slice(s.start, s.end)).toBe(s.text);
    }
  });

  it.each(COURT_PRINTS)("reads a %i-page court print page by page", async (pages) => {
    const doc = await parseDocument(makePdf(courtPrint(pages, 5)), "opinion.pdf");
    expect(doc.pageCount).toBe(pages);
    expect(doc.sections.map((s) => s.page)).toEqual(Array.from({ length: pages }, (_, i) => i + 1));
    expect(doc.text).toContain("SUPREME COURT");
    // Words hyphenated across a line break are joined, so they can be searched for.
    expect(doc.text).not.toMatch(/\p{Ll}-\n\p{Ll}/u);
    expect(doc.sections[6]!.text).toContain("is not dischargeable, as the 7th paragraph");
    expect(doc.sections[4]!.text).toContain("JUSTICE BARRETT delivered the opinion");
  });

  it("reports a scanned PDF as having no text layer instead of indexing its page stamps", async () => {
    // pdf.js finds only the court's filing stamp ("Case 1:21-cv-… Page 1 of 5") on each scanned page.
    const err = await rejection(makeScannedPdf(5), "orders/dr_a_order.pdf");
    expect(err.code).toBe("no_text_layer");
    expect(err.message).toContain("orders/dr_a_order.pdf");
    expect(err.message).toContain("5 page(s)");
    expect(err.message).toMatch(/OCR/);
  });

  it.each([
    ["truncated", () => halfOf(makePdf(courtPrint(18, 5)))],
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
  afterEach(async () => {
    while (cleanups.length) {
      await cleanups.pop()!();
    }
  });

  it("indexes a court print with page numbers and /ask cites the page", async () => {
    const dir = tempDir("rag-pdf-");
    writeFileSync(join(dir, "bartenwerfer.pdf"), makePdf(courtPrint(18, 5)));
    const { core, cleanup } = await makeCore("pglite");
    const pipeline = await startPipeline(core, [dir]);
    cleanups.push(async () => {
      await pipeline.stop();
      await cleanup();
    });
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
    for (const c of cited) {
      expect(c.page).toBeGreaterThanOrEqual(1);
    }
    const barrett = cited.find((c: { snippet: string }) => /barrett/i.test(c.snippet));
    expect(barrett?.page).toBe(5);
  });
});
