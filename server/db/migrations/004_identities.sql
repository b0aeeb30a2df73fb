-- Addition: the identities this server has seen sign in (a token it accepted), with the nickname
-- and avatar of their latest profile. The web app looks people up here by prefix
-- (GET /api/v1/people), so a chat is only ever started with someone who exists.
CREATE TABLE IF NOT EXISTS t_identity (
  identity_id VARCHAR(50) PRIMARY KEY,
  identity_type INT NOT NULL DEFAULT 0,
  nickname VARCHAR(100),
  avatar VARCHAR(255),
  first_seen_time BIGINT NOT NULL,
  last_seen_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL
);
-- Prefix search (LIKE 'abc%') needs a pattern index whatever the database's collation.
CREATE INDEX IF NOT EXISTS idx_identity_prefix ON t_identity (identity_id text_pattern_ops);
CREATE INDEX IF NOT EXISTS idx_identity_nickname_prefix ON t_identity (lower(nickname) text_pattern_ops);
