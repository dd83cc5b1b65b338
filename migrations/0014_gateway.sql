-- The gateway layer (issue 18): a semantic answer cache that can never serve an answer staler than a
-- fresh one, prompt versions and cache outcomes in the query log, per-key daily budgets and spend.

-- One counter per collection, plus '*' for "every collection", bumped in the same transaction as any
-- write to a document row or to chunks. A cache entry remembers the counters it was computed under
-- (read before retrieval) and is served only while they are unchanged: a writer in any process,
-- worker, CLI or re-index included, invalidates it without knowing the cache exists.
CREATE TABLE collection_epochs (
  collection text PRIMARY KEY,
  epoch      bigint NOT NULL
);

CREATE TABLE answer_cache (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- sha256 of tenant (key id), collection set, generation, embedder, generator model, prompt version
  -- and every answer option: entries under different keys are never compared.
  key_hash      text NOT NULL,
  -- the collections the answer could draw from; NULL: every collection.
  collections   text[],
  question      text NOT NULL,
  -- lower-cased, whitespace and trailing punctuation folded: the exact-match path needs no embedding.
  question_norm text NOT NULL,
  embedding     vector NOT NULL,
  -- {collection: epoch} when the answer started; '*' for every collection.
  epochs        jsonb NOT NULL,
  -- chunk ids of the packed sources, in order: a paraphrase is served only when it retrieves these.
  source_chunks text[] NOT NULL,
  response      jsonb NOT NULL,
  hits          integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);
CREATE INDEX answer_cache_key ON answer_cache (key_hash, question_norm);
CREATE INDEX answer_cache_expires ON answer_cache (expires_at);
CREATE INDEX answer_cache_collections ON answer_cache USING gin (collections);

CREATE FUNCTION bump_collection_epochs(cols text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO collection_epochs (collection, epoch)
    SELECT DISTINCT c, 1 FROM unnest(array_append(cols, '*')) AS c WHERE c IS NOT NULL
    ON CONFLICT (collection) DO UPDATE SET epoch = collection_epochs.epoch + 1;
  -- Dropped at once as well; the epoch check on read covers entries written by answers in flight.
  DELETE FROM answer_cache WHERE collections IS NULL OR collections && cols;
END $$;

CREATE FUNCTION documents_bump_epochs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM bump_collection_epochs(ARRAY[NEW.collection]);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM bump_collection_epochs(ARRAY[OLD.collection]);
  ELSE
    PERFORM bump_collection_epochs(ARRAY[OLD.collection, NEW.collection]);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER documents_epochs AFTER INSERT OR UPDATE OR DELETE ON documents
  FOR EACH ROW EXECUTE FUNCTION documents_bump_epochs();

-- Chunks change before the document row is marked indexed (and a re-index or a dropped generation
-- touches only chunks): counted in the chunk write's own transaction, once per statement.
CREATE FUNCTION chunks_bump_epochs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF EXISTS (SELECT 1 FROM new_rows) THEN PERFORM bump_collection_epochs(ARRAY(SELECT DISTINCT collection FROM new_rows)); END IF;
  ELSE
    IF EXISTS (SELECT 1 FROM old_rows) THEN PERFORM bump_collection_epochs(ARRAY(SELECT DISTINCT collection FROM old_rows)); END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER chunks_epochs_added AFTER INSERT ON chunks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_bump_epochs();
CREATE TRIGGER chunks_epochs_removed AFTER DELETE ON chunks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_bump_epochs();

-- Which answer prompt a query used, and whether the cache answered it ({hit, similarity, ageMs}).
ALTER TABLE query_log ADD COLUMN prompt_version text;
ALTER TABLE query_log ADD COLUMN cache jsonb;
CREATE INDEX query_log_api_key_created ON query_log (api_key_id, created_at);

-- Per-key daily budgets set by `npm run keys -- budget`; NULL: the configured default (BUDGET_DAILY_*).
ALTER TABLE api_keys ADD COLUMN daily_token_budget bigint;
ALTER TABLE api_keys ADD COLUMN daily_usd_budget double precision;

-- What each key spent per UTC day, counted in the database so every API process shares the budget.
CREATE TABLE key_spend (
  key_id text NOT NULL,
  day    date NOT NULL,
  tokens bigint NOT NULL DEFAULT 0,
  usd    double precision NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, day)
);
