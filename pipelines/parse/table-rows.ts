/**
 * How every parser writes a table row: each cell after its column's header, so a row read alone
 * (a chunk, a quoted answer sentence) still says what each value is: "Format: h · C Type: short ·
 * Standard size: 2". Flattened into "h | short | 2", a row answers "how many bytes is a short"
 * with a bare number that neither retrieval nor a reader can tie to the question.
 */
export const CELL_SEPARATOR = " · ";

/** One row as text: "Header: cell" for each non-empty cell; a cell without a header stands alone. */
export function labelledRow(headers: readonly string[], cells: readonly string[]): string {
  const parts: string[] = [];
  cells.forEach((cell, i) => {
    const value = cell.trim();
    if (value === "") {
      return;
    }
    const header = headers[i]?.trim() ?? "";
    parts.push(header === "" || header === value ? value : `${header}: ${value}`);
  });
  return parts.join(CELL_SEPARATOR);
}

/**
 * A table's rows as paragraphs: the first row is the header when `hasHeader`; each other row is
 * labelled with it. Without a header the cells are joined as they stand.
 */
export function tableParagraphs(rows: readonly string[][], hasHeader: boolean): string[] {
  const nonEmpty = rows.filter((r) => r.some((c) => c.trim() !== ""));
  if (!hasHeader || nonEmpty.length < 2) {
    return nonEmpty.map((r) =>
      r
        .map((c) => c.trim())
        .filter((c) => c !== "")
        .join(CELL_SEPARATOR),
    );
  }
  const [header, ...body] = nonEmpty as [string[], ...string[][]];
  return body.map((r) => labelledRow(header, r)).filter((r) => r !== "");
}
