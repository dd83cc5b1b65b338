import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow } from "docx";
import { afterEach, describe, expect, it } from "vitest";
import { isPipelineError } from "../pipelines/errors.js";
import { rowLines } from "../pipelines/parse/docx.js";
import { formatForPath, parseDocument } from "../pipelines/parse/index.js";
import { sourceIdFor } from "../pipelines/store/catalog.js";
import { makeCore } from "./support/core.js";
import { startPipeline, waitFor } from "./support/pipeline.js";
import { tempDir } from "./support/temp-dir.js";

const cell = (text: string) => new TableCell({ children: [new Paragraph(text)] });
const row = (...cells: string[]) => new TableRow({ children: cells.map(cell) });

/** A Word file with two heading levels, a bulleted list and a table, made here with the docx package. */
async function keepersManual(): Promise<Uint8Array> {
  const doc = new Document({
    sections: [
      {
        children: [
          new Paragraph({ text: "Lighthouse Keeping", heading: HeadingLevel.HEADING_1 }),
          new Paragraph("Keepers log the weather every four hours, day and night."),
          new Paragraph({ text: "Lamp Room", heading: HeadingLevel.HEADING_2 }),
          new Paragraph({ text: "Trim the wick before dusk.", bullet: { level: 0 } }),
          new Paragraph({ text: "Polish the Fresnel lens with chamois leather.", bullet: { level: 0 } }),
          new Table({
            rows: [
              row("Lamp", "Fuel", "Hours"),
              row("Argand burner", "colza oil", "14"),
              row("Incandescent mantle", "paraffin vapour", "16"),
            ],
          }),
          new Paragraph({ text: "Fog Signals", heading: HeadingLevel.HEADING_2 }),
          new Paragraph("The diaphone sounds two blasts every minute while visibility is under two miles."),
        ],
      },
    ],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

describe(".docx parsing", () => {
  it("is a registered format, so the watcher picks Word files up", () => {
    expect(formatForPath("manuals/Keeping.DOCX")).toBe("docx");
  });

  it("keeps headings as the heading path and lists and tables as text, each table row with its column headers", async () => {
    const doc = await parseDocument(await keepersManual(), "keeping.docx");
    expect(doc.format).toBe("docx");
    expect(doc.title).toBe("Lighthouse Keeping");
    expect(doc.sections.map((s) => s.headingPath)).toEqual([
      ["Lighthouse Keeping"],
      ["Lighthouse Keeping", "Lamp Room"],
      ["Lighthouse Keeping", "Fog Signals"],
    ]);
    const lamp = doc.sections[1]!.text;
    expect(lamp).toContain("- Trim the wick before dusk.\n- Polish the Fresnel lens with chamois leather.");
    expect(lamp).toContain(
      "Lamp: Argand burner · Fuel: colza oil · Hours: 14\n\nLamp: Incandescent mantle · Fuel: paraffin vapour · Hours: 16",
    );
    for (const s of doc.sections) {
      expect(doc.text.slice(s.start, s.end)).toBe(s.text);
    }
  });

  it("names each cell by its header, leaves out empty cells, and reads a one-row table as plain cells", () => {
    expect(
      rowLines([
        ["Port", "Depth"],
        ["Tromsø", ""],
        ["", "12 m"],
      ]),
    ).toEqual(["Port: Tromsø", "Depth: 12 m"]);
    expect(
      rowLines([
        ["Port", ""],
        ["Bergen", "deep"],
      ]),
    ).toEqual(["Port: Bergen · deep"]);
    expect(rowLines([["Bergen", "Tromsø"]])).toEqual(["Bergen · Tromsø"]);
  });

  it("reports bytes that are not a Word document as corrupt, and one without text as empty", async () => {
    const corrupt = await parseDocument(
      new TextEncoder().encode("PK\u0003\u0004 not really a zip"),
      "broken.docx",
    ).catch((e: unknown) => e);
    expect(isPipelineError(corrupt) && corrupt.code).toBe("corrupt_file");
    expect((corrupt as Error).message).toMatch(/broken\.docx.*not a readable Word document/);
    const blank = new Uint8Array(
      await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph("")] }] })),
    );
    const empty = await parseDocument(blank, "blank.docx").catch((e: unknown) => e);
    expect(isPipelineError(empty) && empty.code).toBe("empty_document");
    const zero = await parseDocument(new Uint8Array(), "zero.docx").catch((e: unknown) => e);
    expect(isPipelineError(zero) && zero.code).toBe("empty_document");
  });
});

describe(".docx through the pipeline", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) {
      await cleanups.pop()!();
    }
  });

  it("answers from a Word file and cites it with its heading path", async () => {
    const dir = tempDir("rag-docx-");
    writeFileSync(join(dir, "keeping.docx"), await keepersManual());
    const { core, cleanup } = await makeCore("pglite");
    const pipeline = await startPipeline(core, [dir]);
    cleanups.push(async () => {
      await pipeline.stop();
      await cleanup();
    });
    await pipeline.queue.idle();
    expect(await core.catalog.getDocument(sourceIdFor(dir), "keeping.docx")).toMatchObject({
      status: "indexed",
      format: "docx",
      textLayer: "native",
    });

    const body = await waitFor(async () => {
      const r = await pipeline.ask("How often does the diaphone sound while visibility is poor?");
      return r.body.citations?.length ? r.body : null;
    });
    expect(body.abstained).toBe(false);
    expect(body.answer).toMatch(/two blasts every minute/);
    expect(body.citations[0]).toMatchObject({
      path: "keeping.docx",
      page: null,
      headingPath: ["Lighthouse Keeping", "Fog Signals"],
    });

    const table = await pipeline.ask("Which fuel did the Argand burner use?");
    expect(table.body.abstained).toBe(false);
    expect(table.body.citations[0]).toMatchObject({
      path: "keeping.docx",
      headingPath: ["Lighthouse Keeping", "Lamp Room"],
    });
    expect(table.body.citations[0].snippet).toContain("Lamp: Argand burner · Fuel: colza oil");
    // Loading the model and indexing took 52 s on two cores shared at load 22.
  }, 180_000);
});
