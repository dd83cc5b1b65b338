import { sql } from "drizzle-orm";
import { queryRows, type Drizzle } from "./database.js";

/**
 * A document's indexed text in one generation: its chunks in order, joined by blank lines, cut
 * at `maxChars` (`truncated` says so). This is what search and answers read, not the source file
 * (a PDF's text per page, HTML without navigation). The caller checks the tenant first.
 */
export async function documentText(db: Drizzle, documentId: string, generationId: number, maxChars: number) {
  const rows = await queryRows<{ text: string; page: number | null }>(
    db,
    sql`SELECT text, page FROM chunks WHERE document_id = ${documentId} AND generation_id = ${generationId} ORDER BY ordinal`,
  );
  let text = "";
  let truncated = false;
  for (const r of rows) {
    const next = text ? `${text}\n\n${r.text}` : r.text;
    if (next.length > maxChars) {
      text = next.slice(0, maxChars);
      truncated = true;
      break;
    }
    text = next;
  }
  return { text, chunks: rows.length, truncated };
}
