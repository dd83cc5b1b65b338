-- A version of each generation's lexical index, from one sequence, set on every change of its
-- statistics row: the postings triggers (0002) update that row in the writer's own statement, so
-- any process's write moves the version when it commits. API processes cache postings in memory
-- (pipelines/retrieve/bm25-cache.ts) and empty the cache when the version they read has moved.
CREATE SEQUENCE lexical_version_seq;
ALTER TABLE lexical_stats ADD COLUMN version bigint NOT NULL DEFAULT nextval('lexical_version_seq');

CREATE FUNCTION lexical_stats_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := nextval('lexical_version_seq');
  RETURN NEW;
END $$;

CREATE TRIGGER lexical_stats_versioned BEFORE UPDATE ON lexical_stats
  FOR EACH ROW EXECUTE FUNCTION lexical_stats_version();
