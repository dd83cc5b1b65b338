import type { Citation } from "../../schemas/api.js";
import { pageKey } from "../store/page-queries.js";

/** Looks up the text layer of cited pages; pipelines/store/page-queries.ts's pageTextLayers. */
export type PageTextLayers = (
  refs: Array<{ documentId: string; page: number | null }>,
) => Promise<Map<string, "native" | "ocr">>;

/**
 * Marks each citation of a PDF page with where that page's text came from: `textLayer: "ocr"`
 * tells the reader the quoted text was recognised from a scan and may hold OCR errors.
 */
export async function withTextLayers(citations: Citation[], lookup: PageTextLayers | undefined): Promise<Citation[]> {
  if (!lookup || !citations.some((c) => c.page !== null)) {
    return citations;
  }
  const layers = await lookup(citations);
  return citations.map((c) => {
    const layer = c.page === null ? undefined : layers.get(pageKey(c.documentId, c.page));
    return layer ? { ...c, textLayer: layer } : c;
  });
}
