import { tableParagraphs } from "./table-rows.js";

/** What pageLines writes between two text items of one line that stand apart: a cell boundary. */
export const PDF_CELL_GAP = "\t";

/** The fields of a pdf.js text item that lines are rebuilt from (TextItem of getTextContent). */
export interface PdfTextItem {
  str: string;
  /** [a, b, c, d, x, y]: x, y is where the item starts, in PDF points from the bottom left. */
  transform: number[];
  width: number;
  height: number;
  hasEOL?: boolean;
}

// Two items of one line further apart than this many times the font size are in different cells.
// pdf.js bridges such a gap with a whitespace item as wide as the gap, which is why pdf-parse's
// own cell separator (it measures from the end of the previous item, the whitespace) never fires.
const CELL_GAP_EMS = 1;

/**
 * A page's text from pdf.js text items, one line per baseline, with PDF_CELL_GAP where two items
 * stand more than CELL_GAP_EMS apart on x (measured between the ends of inked items, whitespace
 * items ignored).
 */
export function pageLines(items: readonly PdfTextItem[]): string {
  let out = "";
  let lastY: number | undefined;
  let lastEnd: number | undefined;
  for (const item of items) {
    const x = item.transform[4] ?? 0;
    const y = item.transform[5] ?? 0;
    const size = Math.max(item.height, 1);
    if (item.str.trim() === "") {
      if (item.hasEOL) {
        out += "\n";
        lastEnd = undefined;
      }
      continue;
    }
    if (lastY !== undefined && Math.abs(lastY - y) > size / 2) {
      if (!out.endsWith("\n")) {
        out += "\n";
      }
      lastEnd = undefined;
    } else if (lastEnd !== undefined) {
      const gap = x - lastEnd;
      if (gap > size * CELL_GAP_EMS) {
        out += PDF_CELL_GAP;
      } else if (gap > size * 0.1 && !out.endsWith(" ") && !item.str.startsWith(" ")) {
        out += " ";
      }
    }
    out += item.str;
    lastY = y;
    lastEnd = x + item.width;
    if (item.hasEOL) {
      out += "\n";
      lastEnd = undefined;
    }
  }
  return out;
}

/** True when some line of the page has a cell gap: only then is the page worth a table rebuild. */
export const hasCellGaps = (text: string) => text.includes(PDF_CELL_GAP);

// A table's header names columns: a few words each. Prose set in two page columns also has one gap
// per line, so a block is a table only when its header cells are this short...
const MAX_HEADER_WORDS = 5;
// ...and every row has a short cell (a key: a name, a number), where a two-column page's lines
// run 45–90 characters on both sides.
const MAX_KEY_CELL_CHARS = 30;

/**
 * Rebuilds the tables of one page's text as the HTML and Markdown parsers write them: each body row
 * a paragraph of its own with every cell after its column's header ("Function: len() ·
 * Description: Return the length of an object."). A table is a run of at least two consecutive
 * lines with the same number (2 or more) of cells, cells being split at `PDF_CELL_GAP`; the
 * first line is the header. Other lines are left as they are (their gaps become spaces later).
 * A cell that wraps onto a line of its own ends the table there (it has fewer cells).
 */
export function rebuildPdfTables(pageText: string): string {
  const lines = pageText.split(/\r\n?|\n/);
  const cellsOf = (line: string) => line.split(PDF_CELL_GAP).map((c) => c.replace(/\s+/g, " ").trim());
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const width = cellsOf(lines[i]!).length;
    let j = i + 1;
    while (width >= 2 && j < lines.length && cellsOf(lines[j]!).length === width) {
      j++;
    }
    const rows = lines.slice(i, j).map(cellsOf);
    if (j - i >= 2 && isTable(rows)) {
      // Blank lines around and between rows: each row is a paragraph, the unit the chunker keeps whole.
      out.push("", tableParagraphs(rows, true).join("\n\n"), "");
      i = j;
    } else {
      out.push(lines[i]!);
      i++;
    }
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n");
}

function isTable(rows: string[][]): boolean {
  const [header] = rows;
  if (!header || header.some((c) => c === "" || c.split(" ").length > MAX_HEADER_WORDS)) {
    return false;
  }
  return rows.slice(1).every((r) => Math.min(...r.map((c) => c.length)) <= MAX_KEY_CELL_CHARS);
}
