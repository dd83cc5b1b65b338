-- User feedback on answers: any number of ratings per logged query, removed with the query.
CREATE TABLE feedback (
  id serial PRIMARY KEY,
  query_id uuid NOT NULL REFERENCES query_log (id) ON DELETE CASCADE,
  -- -1 (bad answer) or 1 (good answer): a thumbs rating, the one every client can render.
  rating smallint NOT NULL CHECK (rating IN (-1, 1)),
  comment text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_query ON feedback (query_id);
