-- Message search (GET /api/v1/search/messages): a trigram index on the message text, which
-- accelerates `content ILIKE '%…%'` for patterns of 3+ characters in any script. Shorter
-- patterns (a 2-character Chinese word) stay correct: the planner rechecks or scans.
--
-- An extension exists once per database, in one schema. Tests and multi-tenant set-ups run
-- these migrations in several schemas of one database (DATABASE_SCHEMA), so it goes to `public`
-- (never to a schema that may be dropped with its CASCADE). The runner's advisory lock is
-- database-wide, so two schemas migrating at once do not race on CREATE EXTENSION. If an
-- operator installed pg_trgm elsewhere already, the index names the schema it is in.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

DO $$
DECLARE
  trgm_schema name;
BEGIN
  SELECT n.nspname INTO trgm_schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  WHERE e.extname = 'pg_trgm';
  EXECUTE format(
    'CREATE INDEX IF NOT EXISTS idx_msg_content_trgm ON t_msg_body USING gin (content %I.gin_trgm_ops)',
    trgm_schema
  );
END
$$;

-- Search results are newest first: (create_time, message_id) orders them without a sort of
-- every candidate row when a query matches many messages.
CREATE INDEX IF NOT EXISTS idx_msg_create_time ON t_msg_body (create_time DESC, message_id DESC);
