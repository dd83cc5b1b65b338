import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createChunker, defaultChunkerSettings } from "../pipelines/chunk/structure-chunker.js";
import { parseHtml } from "../pipelines/parse/html.js";
import { parseMarkdown } from "../pipelines/parse/markdown.js";
import { labelledRow, tableParagraphs } from "../pipelines/parse/table-rows.js";
import type { ParsedDocument } from "../pipelines/parse/types.js";

const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
const fixture = readFileSync(new URL("./fixtures/structure/reference.html", import.meta.url), "utf8");

function expectExactSections(doc: ParsedDocument): void {
  for (const s of doc.sections) {
    expect(doc.text.slice(s.start, s.end)).toBe(s.text);
  }
}

describe("table rows keep their column headers", () => {
  it("labels each cell with its header, skips empty cells and keeps header-less rows as they stand", () => {
    expect(labelledRow(["Function", "Description"], ["len()", "Return the length."])).toBe(
      "Function: len() · Description: Return the length.",
    );
    expect(labelledRow(["A", "B", "C"], ["1", "", "3"])).toBe("A: 1 · C: 3");
    expect(
      tableParagraphs(
        [
          ["a", "b"],
          ["c", "d"],
        ],
        false,
      ),
    ).toEqual(["a · b", "c · d"]);
    expect(tableParagraphs([["Only", "Header"]], true)).toEqual(["Only · Header"]);
  });
});

describe("parseHtml keeps structure", () => {
  const doc = parseHtml(fixture);

  it("writes each table row as a paragraph with its column headers, and drops permalinks", () => {
    expect(doc.text).toContain(
      "\n\nFormat: h · C Type: short · Standard size: 2\n\nFormat: q · C Type: long long · Standard size: 8\n\nFormat: x · C Type: pad byte\n\n",
    );
    expect(doc.text).toContain("plain · cells\n\nno · header");
    expect(doc.text).not.toContain("¶");
    expect(doc.text).not.toContain("Standard sizes\n\nFormat: h | short");
  });

  it("heads each description with its definition term, nested terms under their parent, and ends the terms with the list", () => {
    const path = (needle: string) => doc.sections.find((s) => s.text.includes(needle))?.headingPath;
    expect(path("Return the length (the number of items)")).toEqual(["Built-in helpers", "Functions", "len(s)"]);
    expect(path("Return an estimated length")).toEqual([
      "Built-in helpers",
      "Functions",
      "len(s)",
      "len.hint(s, default=0)",
    ]);
    // Back in len's description after the nested list, and back under the h2 after the outer one.
    expect(path("It raises OverflowError")).toEqual(["Built-in helpers", "Functions", "len(s)"]);
    expect(path("Return the code point")).toEqual(["Built-in helpers", "Functions", "ord(c)"]);
    expect(path("All helpers are built in")).toEqual(["Built-in helpers", "Functions"]);
    expect(path("Format: h")).toEqual(["Built-in helpers", "Sizes"]);
    expectExactSections(doc);
  });

  it("keeps a code block whole: no blank line inside it", () => {
    expect(doc.text).toContain(">>> len([1, 2])\n2");
  });

  it("gives every chunk of a long description its term, even the chunks without the term's line", () => {
    const chunks = createChunker(defaultChunkerSettings(12), words).chunk(doc);
    const lenChunks = chunks.filter((c) => /number of items|sequence or a collection/.test(c.text));
    expect(lenChunks.length).toBeGreaterThanOrEqual(2);
    for (const c of lenChunks) {
      expect(c.headingPath.at(-1)).toBe("len(s)");
    }
    const row = chunks.find((c) => c.text.includes("long long"))!;
    expect(row.text).toContain("Format: q · C Type: long long · Standard size: 8");
  });
});

describe("parseMarkdown keeps structure", () => {
  const source = [
    "# Tools",
    "",
    "| Function | Description |",
    "|----------|:-----------:|",
    "| `len()`  | Return the length (the number of items) of an object. |",
    "| `a\\|b`   | Either. |",
    "",
    "After the table.",
    "",
    "```",
    "| not | a table |",
    "|-----|---------|",
    "```",
    "",
  ].join("\n");
  const doc = parseMarkdown(source);

  it("writes each table row as a paragraph labelled with the header row, escaped pipes kept as text", () => {
    expect(doc.text).toContain(
      "\n\nFunction: `len()` · Description: Return the length (the number of items) of an object.\n\nFunction: `a|b` · Description: Either.\n\nAfter the table.",
    );
    expect(doc.sections.map((s) => s.headingPath)).toEqual([["Tools"]]);
    expectExactSections(doc);
  });

  it("leaves tables inside code fences and text without tables exactly as written", () => {
    expect(doc.text).toContain("```\n| not | a table |\n|-----|---------|\n```");
    const plain = "# A\n\nNo | table here\n\nx - y\n";
    expect(parseMarkdown(plain).text).toBe(plain);
  });

  it("a chunk of a long table keeps the headers on every row", () => {
    const rows = Array.from({ length: 30 }, (_, i) => `| opt${i} | Meaning number ${i} of the options. |`);
    const big = parseMarkdown(["# Options", "", "| Option | Meaning |", "|---|---|", ...rows, ""].join("\n"));
    const chunks = createChunker(defaultChunkerSettings(30), words).chunk(big);
    const last = chunks.at(-1)!;
    expect(chunks.length).toBeGreaterThan(3);
    expect(last.text).toContain("Option: opt29 · Meaning: Meaning number 29 of the options.");
  });
});
