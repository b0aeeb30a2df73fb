-- Databases migrated before 001 used the spec's index names on t_msg_body called the
-- conversation index idx_msg_conversation_id; it gets the spec's name, idx_conversation_id.
-- (Where 001 already created idx_conversation_id, there is nothing to rename.)
ALTER INDEX IF EXISTS idx_msg_conversation_id RENAME TO idx_conversation_id;
