-- Where a document's text came from (issue 19): 'native' (the file's own text), 'ocr' (recognised
-- from page images), 'mixed' (a PDF with both kinds of page), 'none' (no page gave text). NULL for
-- documents indexed before this migration until they are indexed again.
ALTER TABLE documents ADD COLUMN text_layer text;
-- Mean OCR word confidence (0-100) over the document's OCR'd pages; NULL when no page was OCR'd.
ALTER TABLE documents ADD COLUMN ocr_confidence real;

-- One row per page of the indexed version of a paged document (PDF). A page whose OCR yielded
-- nothing, failed or timed out is kept with its reason, so it is reported instead of passing as an
-- empty success. Replaced whole each time the document is indexed.
CREATE TABLE document_pages (
  document_id uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  page integer NOT NULL,
  text_layer text NOT NULL CHECK (text_layer IN ('native', 'ocr', 'none')),
  ocr_confidence real,
  chars integer NOT NULL DEFAULT 0,
  -- Why a page has no text: ocr_empty, ocr_failed, ocr_timeout, ocr_off, render_failed.
  error_code text,
  error text,
  PRIMARY KEY (document_id, page)
);
