import { PDFDocument, StandardFonts } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { createChunker, defaultChunkerSettings } from "../pipelines/chunk/structure-chunker.js";
import { parsePdf } from "../pipelines/parse/pdf.js";
import { rebuildPdfTables } from "../pipelines/parse/pdf-tables.js";

const words = (t: string) => t.split(/\s+/).filter(Boolean).length;

/** A page with a paragraph, a two-column table (each cell drawn as its own text item) and a paragraph after. */
async function tablePdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const page = doc.addPage([612, 792]);
  const line = (text: string, x: number, y: number) => page.drawText(text, { x, y, size: 11, font });
  line("Built-in functions of the interpreter are listed below.", 72, 720);
  const rows = [
    ["Function", "Description"],
    ["len()", "Return the length of an object."],
    ["abs()", "Return the absolute value of a number."],
    ["hex()", "Convert an integer to a hexadecimal string."],
  ];
  rows.forEach(([fn, description], i) => {
    line(fn!, 72, 680 - i * 20);
    line(description!, 200, 680 - i * 20);
  });
  line("Other functions are described in the library reference.", 72, 580);
  return doc.save();
}

describe("PDF tables keep each row with its column headers", () => {
  it("a two-column table's row travels with its headers into the chunk text", async () => {
    const parsed = await parsePdf(await tablePdf(), "functions.pdf");
    expect(parsed.text).toContain("Function: len() · Description: Return the length of an object.");
    expect(parsed.text).toContain("Function: hex() · Description: Convert an integer to a hexadecimal string.");
    // Prose around the table is left as prose, with no header applied to it.
    expect(parsed.text).toContain("Built-in functions of the interpreter are listed below.");
    expect(parsed.text).not.toContain("Function: Built-in");

    // Chunks small enough to split the table still carry the headers on every row.
    const chunks = createChunker(defaultChunkerSettings(20), words).chunk(parsed);
    const abs = chunks.find((c) => c.text.includes("abs()"))!;
    expect(abs.text).toContain("Function: abs() · Description: Return the absolute value of a number.");
    expect(abs.page).toBe(1);
  });

  it("leaves two-column prose (long lines on both sides) as lines", () => {
    const prose = [
      "The interpreter reads each statement in turn\tand when a statement refers to a name that",
      "has not been bound the interpreter raises an\terror whose message names the missing variable",
    ].join("\n");
    expect(rebuildPdfTables(prose)).toBe(prose);
  });

  it("rebuilds a three-column table from gap-separated lines and keeps the lines around it", () => {
    const text = ["Sizes of C types", "Format\tC Type\tStandard size", "h\tshort\t2", "q\tlong long\t8", "End."].join(
      "\n",
    );
    expect(rebuildPdfTables(text)).toBe(
      [
        "Sizes of C types",
        "",
        "Format: h · C Type: short · Standard size: 2",
        "",
        "Format: q · C Type: long long · Standard size: 8",
        "",
        "End.",
      ].join("\n"),
    );
  });
});
