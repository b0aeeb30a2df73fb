-- Cluster mode, step 1 (issue 16; ../shared/notes/scale-out.md): the tables several nodes share.
-- Nothing uses them in single-node mode; they are created everywhere so one schema serves both.
-- Independent of every other migration: the runner applies a lower number added later (004)
-- after this one without trouble.

-- The document log. A document's updates at positions 1, 2, 3... under (doc, pos): the owner
-- appends at head+1, so an owner that lost its lease fails on the key (23505) instead of writing
-- a second update at the same position. `node` is the writer's node slot, for audits and tests.
CREATE TABLE IF NOT EXISTS doc_log (
  doc TEXT NOT NULL,
  pos BIGINT NOT NULL,
  node INT NOT NULL,
  upd BYTEA NOT NULL,
  PRIMARY KEY (doc, pos)
);

-- One row per document from its first append on: the merged state up to `pos` (NULL and 0
-- before the first compaction). Appends hold it FOR SHARE and need pos < theirs, so a compaction
-- (which deletes the rows <= pos) can never let a stale writer slip a row in below the snapshot.
CREATE TABLE IF NOT EXISTS doc_snapshot (
  doc TEXT PRIMARY KEY,
  pos BIGINT NOT NULL,
  upd BYTEA,
  updated_at BIGINT NOT NULL
);

-- Small server-only values (the DocStore's getMeta/setMeta).
CREATE TABLE IF NOT EXISTS server_meta (
  key TEXT PRIMARY KEY,
  value JSONB NOT NULL
);

-- Message-id node slots (the 10 node bits of every BIGINT id), leased so that two nodes never
-- share one; a slot's row is made by its first claim. `reserved_until` (ms) is the slot's id
-- reservation: ids up to it may have been issued, so the next holder starts after it.
CREATE TABLE IF NOT EXISTS node_slot (
  slot INT PRIMARY KEY CHECK (slot BETWEEN 0 AND 1023),
  holder TEXT,
  expires_at TIMESTAMPTZ,
  reserved_until BIGINT NOT NULL DEFAULT 0
);

-- Uploaded files every node can read: a blob is its SHA-256, its size, and the upload whose
-- chunks hold its bytes. Chunks are written under an upload id while the bytes stream in and
-- hash; the blob row that names them is inserted last, in one transaction, so a reader sees a
-- whole blob or none.
CREATE TABLE IF NOT EXISTS file_upload (
  upload UUID PRIMARY KEY,
  started_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS file_chunk (
  upload UUID NOT NULL,
  n INT NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (upload, n)
);
CREATE TABLE IF NOT EXISTS file_blob (
  sha256 CHAR(64) PRIMARY KEY,
  size BIGINT NOT NULL,
  upload UUID NOT NULL,
  created_at BIGINT NOT NULL
);

-- Which conversation a blob was uploaded to (server/files/refs.ts): the first record is kept.
CREATE TABLE IF NOT EXISTS file_ref (
  conversation_key VARCHAR(120) NOT NULL,
  sha256 CHAR(64) NOT NULL,
  record JSONB NOT NULL,
  PRIMARY KEY (conversation_key, sha256)
);
