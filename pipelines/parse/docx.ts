import { DomUtils, parseDocument } from "htmlparser2";
import { PipelineError } from "../errors.js";
import { parseHtml } from "./html.js";
import type { ParsedDocument } from "./types.js";

type Element = Parameters<typeof DomUtils.getAttributeValue>[0];

/**
 * Parses a Word document (.docx) with mammoth, which maps Word's heading styles to <h1>-<h6> and
 * lists to <ul>/<ol>; the HTML parser then gives the heading path and "- " list items. Tables are
 * rewritten first as one line per row with each cell named by its column header ("Header: cell ·
 * Header: cell"), so a row read alone in a chunk still says what its numbers are. Throws
 * `corrupt_file` for bytes that are not a Word document and `empty_document` for one without text.
 */
export async function parseDocx(bytes: Uint8Array, path: string): Promise<ParsedDocument> {
  // Loaded on first use, like pdf.js: the watcher imports the parse registry only for formatForPath.
  const mammoth = (await import("mammoth")).default;
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: Buffer.from(bytes) })).value;
  } catch (cause) {
    throw new PipelineError(
      "corrupt_file",
      `"${path}" is not a readable Word document: ${(cause as Error)?.message ?? String(cause)}. ` +
        "It may be damaged, or an old .doc renamed to .docx; save it again from Word as .docx.",
      { cause, context: { path, format: "docx" } },
    );
  }
  const doc = parseHtml(`<body>${tablesAsRows(html)}</body>`);
  return { ...doc, format: "docx" };
}

/** Replaces each outermost <table> with one paragraph per data row. */
export function tablesAsRows(html: string): string {
  const dom = parseDocument(html);
  const tables = DomUtils.findAll((el) => el.name === "table" && !hasTableAncestor(el), dom.children);
  for (const table of tables) {
    const rows = DomUtils.findAll((el) => el.name === "tr", table.children).map((tr) =>
      DomUtils.findAll((el) => el.name === "td" || el.name === "th", tr.children).map(cellText),
    );
    const lines = rowLines(rows);
    const replacement = parseDocument(`<div>${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join("")}</div>`)
      .children[0]!;
    DomUtils.replaceElement(table, replacement);
  }
  return DomUtils.getOuterHTML(dom);
}

/** The first row names the columns when there is more than one row; a lone row is read as cells. */
export function rowLines(rows: string[][]): string[] {
  if (rows.length < 2) {
    return rows.map((r) => r.filter((c) => c !== "").join(" · ")).filter((l) => l !== "");
  }
  const [headers, ...body] = rows as [string[], ...string[][]];
  return body
    .map((row) =>
      row
        .map((cell, i) => (cell === "" ? "" : headers[i] ? `${headers[i]}: ${cell}` : cell))
        .filter((c) => c !== "")
        .join(" · "),
    )
    .filter((l) => l !== "");
}

function cellText(cell: Element): string {
  return DomUtils.textContent(cell).replace(/\s+/g, " ").trim();
}

function hasTableAncestor(el: Element): boolean {
  for (let p = el.parent; p; p = p.parent) {
    if ("name" in p && p.name === "table") {
      return true;
    }
  }
  return false;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
