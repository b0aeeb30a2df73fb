-- Cluster mode (issue 16): when each log row was appended, by the database's clock, so a node can
-- find the documents whose last append is newer than their last projection (an owner that died
-- between the two) without loading them (server/cluster/orphans.ts). Existing rows get the time
-- of this migration; nothing in single-node mode writes doc_log.
ALTER TABLE doc_log ADD COLUMN IF NOT EXISTS at TIMESTAMPTZ NOT NULL DEFAULT now();
