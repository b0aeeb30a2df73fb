/**
 * An upgrade over the older message centre (seed §8 "扩展现有表"): its t_msg_body already exists,
 * with rows and columns of its own. The migrations extend it in place (ADD COLUMN, the spec's
 * index names), keep every row and every unknown column, and the projector then writes IM
 * messages into it beside the old rows. On PGlite, or on Postgres with DATABASE_URL.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/connect.js';
import { createLogger } from '../../server/log.js';
import { checkSnapshot } from '../../server/projector/check.js';
import { DATABASE_URL, testSchema } from '../db.js';
import { startTestServer, type TestServer, tempDir, token } from '../helpers.js';

let ts: TestServer;
const schema = DATABASE_URL ? testSchema() : undefined;

/** The older message centre's table, as a backend team would have it: not convosync's DDL. */
const LEGACY = `
  CREATE TABLE t_msg_body (
    message_id BIGINT PRIMARY KEY,
    title VARCHAR(255),
    content TEXT,
    relating_biz_type INT,
    relating_biz_id VARCHAR(64),
    relating_parent_msg_id BIGINT,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    -- Columns convosync knows nothing about.
    msg_channel VARCHAR(20) NOT NULL DEFAULT 'mail',
    audit_note TEXT,
    legacy_flags SMALLINT DEFAULT 0
  );
  CREATE INDEX idx_legacy_biz ON t_msg_body (relating_biz_type, relating_biz_id);
  INSERT INTO t_msg_body (message_id, title, content, relating_biz_type, relating_biz_id, create_time, update_time, msg_channel, audit_note, legacy_flags)
  VALUES (101, 'Order shipped', 'Your order 7 has shipped', 3, '7', 1600000000000, 1600000000000, 'sms', 'checked', 2),
         (102, 'Refund', 'Refund issued', 4, '9', 1600000001000, 1600000002000, 'mail', NULL, 0),
         (103, NULL, 'Plain notice', NULL, NULL, 1600000003000, 1600000003000, 'push', 'x', 1);`;

beforeAll(async () => {
  const dataDir = await tempDir();
  // The database as the older system left it, before convosync ever ran.
  const legacy = await openDatabase({
    dataDir,
    log: createLogger('silent'),
    ...(DATABASE_URL ? { url: DATABASE_URL } : {}),
    ...(schema ? { schema } : {}),
  });
  await legacy.sql.unsafe(LEGACY);
  await legacy.close();
  ts = await startTestServer({
    dataDir,
    env: {
      SNAPSHOTS: 'on',
      PROJECTOR_DEBOUNCE_MS: '10',
      ...(DATABASE_URL && schema ? { DATABASE_URL, DATABASE_SCHEMA: schema } : {}),
    },
  });
}, 60_000);

afterAll(async () => {
  if (schema) await ts.server.db!.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await ts.close();
});

it('extends the existing table in place: spec columns and index names, old rows and columns kept', async () => {
  const sql = ts.server.db!.sql;
  const columns = (
    await sql<{ column_name: string }[]>`
      SELECT column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 't_msg_body'`
  ).map((c) => c.column_name);
  expect(columns).toEqual(
    expect.arrayContaining([
      'message_type',
      'conversation_id',
      'message_format',
      'reply_to_message_id',
      'file_url',
      'file_size',
      'duration',
      'is_recalled',
      'recall_time',
      'msg_channel',
      'audit_note',
      'legacy_flags',
    ]),
  );
  const indexes = (
    await sql<{ indexname: string }[]>`
      SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 't_msg_body'`
  ).map((i) => i.indexname);
  expect(indexes).toEqual(
    expect.arrayContaining([
      'idx_conversation_id',
      'idx_message_type',
      'idx_message_format',
      'idx_reply_to_message_id',
      'idx_legacy_biz',
    ]),
  );
  const old = await sql`
    SELECT message_id, title, content, msg_channel, audit_note, legacy_flags, message_format, is_recalled, conversation_id
    FROM t_msg_body WHERE message_id IN (101, 102, 103) ORDER BY message_id`;
  expect(old.map((r) => ({ ...r }))).toEqual([
    {
      message_id: '101',
      title: 'Order shipped',
      content: 'Your order 7 has shipped',
      msg_channel: 'sms',
      audit_note: 'checked',
      legacy_flags: 2,
      message_format: 0,
      is_recalled: false,
      conversation_id: null,
    },
    {
      message_id: '102',
      title: 'Refund',
      content: 'Refund issued',
      msg_channel: 'mail',
      audit_note: null,
      legacy_flags: 0,
      message_format: 0,
      is_recalled: false,
      conversation_id: null,
    },
    {
      message_id: '103',
      title: null,
      content: 'Plain notice',
      msg_channel: 'push',
      audit_note: 'x',
      legacy_flags: 1,
      message_format: 0,
      is_recalled: false,
      conversation_id: null,
    },
  ]);
});

it('projects IM messages into it beside the old rows, and the checker agrees', async () => {
  const res = await fetch(`${ts.httpUrl}/api/v1/messages/private`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await token('ann')}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      receiverId: 'bo',
      content: 'Hello',
      messageFormat: 0,
      replyToMessageId: null,
    }),
  });
  expect(res.status).toBe(200);
  const sent = ((await res.json()) as { data: { messageId: string; conversationId: string } }).data;
  await ts.server.projector!.flush();
  const sql = ts.server.db!.sql;
  const [row] = await sql`
    SELECT content, conversation_id, msg_channel, legacy_flags FROM t_msg_body WHERE message_id = ${sent.messageId}`;
  // The new row takes the old columns' defaults.
  expect({ ...row }).toEqual({
    content: 'Hello',
    conversation_id: sent.conversationId,
    msg_channel: 'mail',
    legacy_flags: 0,
  });
  expect(Number((await sql`SELECT count(*) AS n FROM t_msg_body`)[0]!.n)).toBe(4);
  const room = await ts.server.rooms.borrow('private_ann_bo');
  try {
    expect(await checkSnapshot(sql, room.doc)).toEqual([]);
  } finally {
    room.release();
  }
  // The history and the unread statistics ignore the old rows.
  const unread = await fetch(`${ts.httpUrl}/api/v1/conversations/unread`, {
    headers: { authorization: `Bearer ${await token('bo')}` },
  });
  expect(((await unread.json()) as { data: { total: number } }).data.total).toBe(1);
});
