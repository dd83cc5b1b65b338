-- Lexical search moved to BM25 postings (0002); the full-text column was still computed on every
-- chunk insert for nothing.
ALTER TABLE chunks DROP COLUMN tsv;
