/** Formats the parse stage understands; the file extension chooses one. */
export type DocumentFormat = "markdown" | "html" | "text" | "pdf" | "docx";

/**
 * A structural unit of a parsed document: a Markdown section under one heading, an HTML block,
 * a paragraph run of plain text, or one PDF page. Offsets are into `ParsedDocument.text`.
 */
export interface ParsedSection {
  text: string;
  start: number;
  end: number;
  /** Headings above this section, outermost first (empty for plain text). */
  headingPath: string[];
  /** 1-based page number, PDF only. */
  page: number | null;
}

/** What every parser returns: the searchable text and its structure. */
export interface ParsedDocument {
  format: DocumentFormat;
  /** The text that chunk offsets point into (the source itself for Markdown and text). */
  text: string;
  title: string | null;
  sections: ParsedSection[];
  pageCount: number | null;
  /** Where the text came from, per page: PDFs only (pipelines/parse/ocr.ts). */
  pages?: PageText[] | undefined;
}

/** Where one page's text came from; a page without text says why (`errorCode`). */
export interface PageText {
  page: number;
  textLayer: "native" | "ocr" | "none";
  /** Mean word confidence 0-100 of an OCR'd page; null otherwise. */
  ocrConfidence: number | null;
  chars: number;
  errorCode: string | null;
  error: string | null;
}
