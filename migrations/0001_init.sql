-- pgvector first: every later statement may depend on the vector type.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE sources (
  id            text PRIMARY KEY,
  kind          text NOT NULL DEFAULT 'folder',
  root          text NOT NULL UNIQUE,
  collection    text NOT NULL DEFAULT 'default',
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_scan_at  timestamptz,
  last_event_at timestamptz
);

-- One generation per (embedder identity, chunker settings). Exactly one is active.
CREATE TABLE index_generations (
  id           serial PRIMARY KEY,
  embedder_key text NOT NULL,
  embedder     jsonb NOT NULL,
  chunker      jsonb NOT NULL,
  status       text NOT NULL CHECK (status IN ('building', 'active', 'retired')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  activated_at timestamptz
);
CREATE UNIQUE INDEX index_generations_one_active ON index_generations (status) WHERE status = 'active';

CREATE TABLE documents (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  source_id    text NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
  path         text NOT NULL,
  collection   text NOT NULL,
  content_hash text,
  status       text NOT NULL CHECK (status IN ('pending', 'indexed', 'failed')),
  error_code   text,
  error        text,
  format       text,
  title        text,
  size_bytes   bigint,
  chunk_count  integer NOT NULL DEFAULT 0,
  page_count   integer,
  indexed_at   timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX documents_source_path ON documents (source_id, path);
CREATE INDEX documents_status ON documents (status);

CREATE TABLE chunks (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  generation_id integer NOT NULL REFERENCES index_generations (id) ON DELETE CASCADE,
  document_id   uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  collection    text NOT NULL,
  ordinal       integer NOT NULL,
  text          text NOT NULL,
  text_hash     text NOT NULL,
  embedding     vector NOT NULL,
  start_offset  integer NOT NULL,
  end_offset    integer NOT NULL,
  page          integer,
  heading_path  jsonb NOT NULL DEFAULT '[]'::jsonb,
  token_count   integer NOT NULL,
  tsv           tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);
CREATE UNIQUE INDEX chunks_generation_document_ordinal ON chunks (generation_id, document_id, ordinal);
CREATE INDEX chunks_document ON chunks (document_id);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
-- The HNSW index is per generation, on (embedding::vector(d)), created when the generation is.

CREATE TABLE embedding_cache (
  embedder_key text NOT NULL,
  text_hash    text NOT NULL,
  embedding    vector NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX embedding_cache_pk ON embedding_cache (embedder_key, text_hash);

CREATE TABLE query_log (
  id            uuid PRIMARY KEY,
  created_at    timestamptz NOT NULL DEFAULT now(),
  request_id    text,
  question      text NOT NULL,
  collection    text,
  generation_id integer,
  answer        text NOT NULL,
  abstained     boolean NOT NULL,
  citations     jsonb NOT NULL,
  verification  jsonb,
  metrics       jsonb,
  usage         jsonb,
  timings       jsonb
);
CREATE INDEX query_log_created_at ON query_log (created_at);
