/** Formats the parse stage understands; the file extension chooses one. */
export type DocumentFormat = "markdown" | "html" | "text" | "pdf";

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
}
