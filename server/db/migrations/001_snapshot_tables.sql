-- The spec's tables (seed section 8) in Postgres types, plus the documented additions.

CREATE TABLE IF NOT EXISTS t_conversation (
  conversation_id BIGINT PRIMARY KEY,
  -- Widened from VARCHAR(100): a private key of two 50-character identity ids is 109 long.
  conversation_key VARCHAR(120) NOT NULL UNIQUE,
  conversation_type VARCHAR(20) NOT NULL,
  conversation_name VARCHAR(100),
  conversation_avatar VARCHAR(255),
  status INT DEFAULT 1,
  setting JSONB,
  last_message_id BIGINT,
  last_active_time BIGINT,
  current_member_count INT DEFAULT 0,
  max_member_count INT DEFAULT 500,
  first_identity_id VARCHAR(50),
  first_identity_type INT,
  first_identity_unread_count BIGINT DEFAULT 0,
  second_identity_id VARCHAR(50),
  second_identity_type INT,
  second_identity_unread_count BIGINT DEFAULT 0,
  source INT DEFAULT 0,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL,
  -- Addition: who created it.
  created_by VARCHAR(50)
);
CREATE INDEX IF NOT EXISTS idx_conversation_key ON t_conversation (conversation_key);
CREATE INDEX IF NOT EXISTS idx_conversation_type ON t_conversation (conversation_type);
CREATE INDEX IF NOT EXISTS idx_first_identity ON t_conversation (first_identity_id, first_identity_type);
CREATE INDEX IF NOT EXISTS idx_second_identity ON t_conversation (second_identity_id, second_identity_type);
CREATE INDEX IF NOT EXISTS idx_last_active_time ON t_conversation (last_active_time);

CREATE TABLE IF NOT EXISTS t_conversation_member (
  member_id BIGINT PRIMARY KEY,
  conversation_id BIGINT NOT NULL,
  identity_id VARCHAR(50) NOT NULL,
  identity_type INT NOT NULL,
  nickname VARCHAR(100),
  avatar VARCHAR(255),
  member_role INT DEFAULT 1,
  member_status INT DEFAULT 1,
  join_time BIGINT NOT NULL,
  exit_time BIGINT,
  last_read_message_id BIGINT,
  unread_count BIGINT DEFAULT 0,
  mute_notification BOOLEAN DEFAULT FALSE,
  source INT DEFAULT 0,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL,
  -- Additions: the read position as a seq (what the document stores), who invited.
  last_read_seq BIGINT DEFAULT 0,
  invited_by VARCHAR(50),
  CONSTRAINT uk_conversation_member UNIQUE (conversation_id, identity_id, identity_type)
);
-- Addition: an identity is one member of a conversation whatever its type (its type can be
-- learned after the member row exists), so the projector upserts on this key.
CREATE UNIQUE INDEX IF NOT EXISTS uk_conversation_identity ON t_conversation_member (conversation_id, identity_id);
CREATE INDEX IF NOT EXISTS idx_identity ON t_conversation_member (identity_id, identity_type);
CREATE INDEX IF NOT EXISTS idx_member_conversation_id ON t_conversation_member (conversation_id);
CREATE INDEX IF NOT EXISTS idx_member_status ON t_conversation_member (member_status);

-- t_msg_body already exists where the older message centre runs (seed §8 "扩展现有表"): backend
-- jobs read it and it holds their rows. So the table is created only where it is missing, with
-- the older columns alone, and the IM extension is added the way the spec does it, ALTER TABLE
-- ... ADD COLUMN, which keeps every existing row and every column convosync does not know.
CREATE TABLE IF NOT EXISTS t_msg_body (
  message_id BIGINT PRIMARY KEY,
  title VARCHAR(255),
  content TEXT,
  relating_biz_type INT,
  relating_biz_id VARCHAR(64),
  relating_parent_msg_id BIGINT,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL
);
-- The IM extension (seed section 8).
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS message_type INT;
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS conversation_id VARCHAR(50);
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS message_format INT DEFAULT 0;
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS reply_to_message_id BIGINT;
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS file_url VARCHAR(500);
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS file_size BIGINT;
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS duration INT;
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS is_recalled BOOLEAN DEFAULT FALSE;
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS recall_time BIGINT;
-- Additions: who sent it, its per-conversation order, its client-made key.
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS sender_identity_id VARCHAR(50);
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS sender_identity_type INT;
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS conversation_seq BIGINT;
ALTER TABLE t_msg_body ADD COLUMN IF NOT EXISTS client_message_key CHAR(32);
-- The spec's index names. Postgres names indexes per schema, not per table, so the member
-- table's idx_conversation_id (seed §8) is idx_member_conversation_id above; t_msg_body, the
-- table existing jobs and DBAs already know, keeps the spec's name.
CREATE INDEX IF NOT EXISTS idx_conversation_id ON t_msg_body (conversation_id);
CREATE INDEX IF NOT EXISTS idx_message_type ON t_msg_body (message_type);
CREATE INDEX IF NOT EXISTS idx_message_format ON t_msg_body (message_format);
CREATE INDEX IF NOT EXISTS idx_reply_to_message_id ON t_msg_body (reply_to_message_id);
CREATE UNIQUE INDEX IF NOT EXISTS uk_msg_conversation_seq ON t_msg_body (conversation_id, conversation_seq);
CREATE UNIQUE INDEX IF NOT EXISTS uk_msg_client_key ON t_msg_body (conversation_id, client_message_key);

-- Where the projection of each document stands: the Yjs state vector it last projected.
CREATE TABLE IF NOT EXISTS t_projection_cursor (
  doc_name VARCHAR(120) PRIMARY KEY,
  state_vector BYTEA NOT NULL,
  projected_at BIGINT NOT NULL
);

-- Domain events for backend consumers, written in the projector's transactions.
CREATE TABLE IF NOT EXISTS t_domain_event (
  event_id BIGSERIAL PRIMARY KEY,
  event_key VARCHAR(200) NOT NULL UNIQUE,
  event_type VARCHAR(40) NOT NULL,
  conversation_id BIGINT NOT NULL,
  conversation_key VARCHAR(120) NOT NULL,
  payload JSONB NOT NULL,
  occurred_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_event_conversation ON t_domain_event (conversation_id, event_id);

-- Consumers' positions: a consumer reads events after its last_event_id and moves it forward.
CREATE TABLE IF NOT EXISTS t_event_consumer (
  consumer VARCHAR(100) PRIMARY KEY,
  last_event_id BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);
