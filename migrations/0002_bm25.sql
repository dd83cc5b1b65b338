-- Lucene-style BM25 in the database, so every process (api, workers) searches the same index.
-- Terms come from the service's own analyzer (pipelines/retrieve/analyzer.ts: StandardTokenizer,
-- Lucene's English stop words, Porter), so postings are written by the store, not by SQL.
--
-- Two fields per generation: each chunk (its heading path when the text lacks it, then its text)
-- and each whole document (its chunks' text). A chunk is ranked by a blend of both scores.
-- `dl` is the field length after Lucene's one-byte rounding (SmallFloat.intToByte4), repeated on
-- every posting so that scoring needs no join; `tf` summed over a field is its exact length.

CREATE TABLE lexical_chunk_postings (
  generation_id integer NOT NULL,
  term          text NOT NULL,
  chunk_id      uuid NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
  document_id   uuid NOT NULL,
  tf            integer NOT NULL,
  dl            integer NOT NULL,
  PRIMARY KEY (generation_id, term, chunk_id)
);
-- Deleting a chunk cascades here; without this index each cascade would scan the table.
CREATE INDEX lexical_chunk_postings_chunk ON lexical_chunk_postings (chunk_id);

CREATE TABLE lexical_document_postings (
  generation_id integer NOT NULL REFERENCES index_generations (id) ON DELETE CASCADE,
  term          text NOT NULL,
  document_id   uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  tf            integer NOT NULL,
  dl            integer NOT NULL,
  PRIMARY KEY (generation_id, term, document_id)
);
CREATE INDEX lexical_document_postings_document ON lexical_document_postings (document_id, generation_id);

-- Per generation: fields with at least one term (Lucene's docCount) and their summed exact lengths
-- (sumTotalTermFreq), so avgdl = length / count. Kept by the triggers below in the writer's own
-- transaction, whichever way postings go: the store's writes, or cascades from chunks, documents
-- and generations. Each statement must carry all postings of the fields it touches (the store
-- writes a document's postings in one statement, and a cascade deletes a chunk's all at once).
CREATE TABLE lexical_stats (
  generation_id integer PRIMARY KEY REFERENCES index_generations (id) ON DELETE CASCADE,
  chunk_count   bigint NOT NULL DEFAULT 0,
  chunk_length  bigint NOT NULL DEFAULT 0,
  doc_count     bigint NOT NULL DEFAULT 0,
  doc_length    bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION lexical_chunk_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO lexical_stats (generation_id, chunk_count, chunk_length)
    SELECT generation_id, count(DISTINCT chunk_id), sum(tf) FROM new_rows GROUP BY generation_id
    ORDER BY generation_id
    ON CONFLICT (generation_id) DO UPDATE
      SET chunk_count = lexical_stats.chunk_count + excluded.chunk_count,
          chunk_length = lexical_stats.chunk_length + excluded.chunk_length;
  ELSE
    UPDATE lexical_stats s
    SET chunk_count = s.chunk_count - o.n, chunk_length = s.chunk_length - o.len
    FROM (SELECT generation_id, count(DISTINCT chunk_id) AS n, sum(tf) AS len FROM old_rows GROUP BY generation_id) o
    WHERE s.generation_id = o.generation_id;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION lexical_document_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO lexical_stats (generation_id, doc_count, doc_length)
    SELECT generation_id, count(DISTINCT document_id), sum(tf) FROM new_rows GROUP BY generation_id
    ORDER BY generation_id
    ON CONFLICT (generation_id) DO UPDATE
      SET doc_count = lexical_stats.doc_count + excluded.doc_count,
          doc_length = lexical_stats.doc_length + excluded.doc_length;
  ELSE
    UPDATE lexical_stats s
    SET doc_count = s.doc_count - o.n, doc_length = s.doc_length - o.len
    FROM (SELECT generation_id, count(DISTINCT document_id) AS n, sum(tf) AS len FROM old_rows GROUP BY generation_id) o
    WHERE s.generation_id = o.generation_id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER lexical_chunk_postings_added AFTER INSERT ON lexical_chunk_postings
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lexical_chunk_stats();
CREATE TRIGGER lexical_chunk_postings_removed AFTER DELETE ON lexical_chunk_postings
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION lexical_chunk_stats();
CREATE TRIGGER lexical_document_postings_added AFTER INSERT ON lexical_document_postings
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lexical_document_stats();
CREATE TRIGGER lexical_document_postings_removed AFTER DELETE ON lexical_document_postings
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION lexical_document_stats();

-- Lexical search no longer reads the PostgreSQL full-text column; its index only slowed writes.
DROP INDEX chunks_tsv;
