-- Re-index support: how to load a generation's embedder again, build progress, and a failed state.
ALTER TABLE index_generations ADD COLUMN embedder_spec jsonb;
ALTER TABLE index_generations ADD COLUMN docs_total integer NOT NULL DEFAULT 0;
ALTER TABLE index_generations ADD COLUMN docs_done integer NOT NULL DEFAULT 0;
ALTER TABLE index_generations ADD COLUMN docs_failed integer NOT NULL DEFAULT 0;
ALTER TABLE index_generations ADD COLUMN error text;
ALTER TABLE index_generations ADD COLUMN finished_at timestamptz;
ALTER TABLE index_generations ADD COLUMN retired_at timestamptz;
ALTER TABLE index_generations DROP CONSTRAINT index_generations_status_check;
ALTER TABLE index_generations ADD CONSTRAINT index_generations_status_check
  CHECK (status IN ('building', 'active', 'retired', 'failed'));
-- At most one build at a time: two concurrent re-index commands would race on the switch.
CREATE UNIQUE INDEX index_generations_one_building ON index_generations (status) WHERE status = 'building';
