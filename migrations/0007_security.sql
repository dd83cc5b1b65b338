-- API keys managed by `npm run keys`: only the SHA-256 of a key is stored, never the key itself.
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  name text NOT NULL,
  -- hex SHA-256 of the whole key; a presented key is hashed and looked up by this.
  key_hash text NOT NULL UNIQUE,
  -- the key's first characters, so an operator can tell keys apart in `keys list`.
  prefix text NOT NULL,
  scopes text[] NOT NULL,
  -- NULL: every collection; otherwise exactly these (tenants).
  collections text[],
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

-- Which collections an answer could draw from (NULL: all) and which key asked, so feedback and
-- query-log reads stay inside the asking tenant.
ALTER TABLE query_log ADD COLUMN collections text[];
ALTER TABLE query_log ADD COLUMN api_key_id text;
