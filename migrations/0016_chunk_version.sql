-- A version of each generation's chunks, from one sequence, moved in the writer's own transaction by
-- every statement that inserts, updates or deletes chunks (cascades from documents and generations
-- included) and by a change of a document's path or source (a cited chunk shows both). API processes
-- keep a generation's vectors and citation fields in memory (pipelines/retrieve/dense-memory.ts) and
-- serve them only while the version they read is the one they loaded, so any process's commit is
-- seen by every process's next query.
CREATE SEQUENCE chunk_version_seq;
CREATE TABLE chunk_versions (
  generation_id integer PRIMARY KEY,
  version       bigint NOT NULL
);
INSERT INTO chunk_versions (generation_id, version)
  SELECT g, nextval('chunk_version_seq') FROM (SELECT DISTINCT generation_id AS g FROM chunks) s;

CREATE FUNCTION bump_chunk_versions(gens integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO chunk_versions (generation_id, version)
    SELECT g, nextval('chunk_version_seq') FROM (SELECT DISTINCT unnest(gens) AS g) s WHERE g IS NOT NULL
    ON CONFLICT (generation_id) DO UPDATE SET version = EXCLUDED.version;
END $$;

-- Once per statement (an ingest writes a document's chunks in one INSERT), from its transition table.
CREATE FUNCTION chunks_bump_version_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_chunk_versions(ARRAY(SELECT DISTINCT generation_id FROM new_rows));
  RETURN NULL;
END $$;
CREATE FUNCTION chunks_bump_version_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_chunk_versions(ARRAY(SELECT DISTINCT generation_id FROM old_rows));
  RETURN NULL;
END $$;
CREATE FUNCTION chunks_bump_version_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_chunk_versions(ARRAY(SELECT generation_id FROM old_rows UNION SELECT generation_id FROM new_rows));
  RETURN NULL;
END $$;
CREATE TRIGGER chunks_version_added AFTER INSERT ON chunks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_bump_version_added();
CREATE TRIGGER chunks_version_removed AFTER DELETE ON chunks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_bump_version_removed();
CREATE TRIGGER chunks_version_changed AFTER UPDATE ON chunks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_bump_version_changed();

-- A document's path or source appears in every hit of its chunks: a change moves their generations.
CREATE FUNCTION documents_bump_chunk_versions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bump_chunk_versions(ARRAY(SELECT DISTINCT generation_id FROM chunks WHERE document_id = NEW.id));
  RETURN NULL;
END $$;
CREATE TRIGGER documents_chunk_version AFTER UPDATE OF path, source_id ON documents
  FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path OR OLD.source_id IS DISTINCT FROM NEW.source_id)
  EXECUTE FUNCTION documents_bump_chunk_versions();
