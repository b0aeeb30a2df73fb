/**
 * messageRetentionDays is enforced: messages older than the setting leave the document (and,
 * after compaction, the disk), the history, the tables and so search, while the rest stays
 * consistent (unread everywhere, the checker, the inbox preview). The server's clock is the
 * test's, so "two days later" takes no time.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkSnapshot } from '../../server/projector/check.js';
import type { IdentityId } from '../../shared/ids.js';
import { inboxKey } from '../../shared/keys.js';
import { inboxRoots } from '../../shared/schema.js';
import { DATABASE_URL, testSchema } from '../db.js';
import { startTestServer, type TestServer } from '../helpers.js';
import { restApi } from '../rest.js';

let ts: TestServer;
// From now on (REST stamps member join times with the wall clock), then moved forward.
let clock = Date.now();
const schema = DATABASE_URL ? testSchema() : undefined;
const DAY = 86_400_000;

beforeAll(async () => {
  ts = await startTestServer({
    env: {
      SNAPSHOTS: 'on',
      PROJECTOR_DEBOUNCE_MS: '10',
      ...(DATABASE_URL && schema ? { DATABASE_URL, DATABASE_SCHEMA: schema } : {}),
    },
    overrides: { now: () => clock },
  });
}, 60_000);
afterAll(async () => {
  if (schema) await ts.server.db!.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await ts.close();
});

const api = restApi(() => ts).data;

it('expires old messages from the document, the disk, the tables and search', async () => {
  const group = await api('POST', '/conversations/group', 'olga', {
    name: 'retention',
    members: [{ identityId: 'mia', identityType: 1 }],
  });
  const key = group.conversationKey as string;
  const send = (content: string) =>
    api('POST', '/messages/group', 'olga', { conversationKey: key, content });
  await send('zanzibar secret one');
  await send('zanzibar secret two');
  clock += 2 * DAY;
  await send('zanzibar fresh');
  await api('PUT', `/conversations/${key}/settings`, 'olga', { messageRetentionDays: 1 });

  // The creation notice and both old messages are older than a day.
  expect(await ts.server.retention!.sweep()).toBe(3);
  await ts.server.projector!.flush();
  await ts.server.inboxes.flush();

  const history = await api('GET', `/messages/conversation/${key}`, 'mia');
  expect(history.list.map((m: { content: string }) => m.content)).toEqual(['zanzibar fresh']);
  const rows = await ts.server.db!.sql<{ content: string }[]>`
    SELECT b.content FROM t_msg_body b JOIN t_conversation c ON c.conversation_id = b.conversation_id::BIGINT
    WHERE c.conversation_key = ${key}`;
  expect(rows.map((r) => r.content)).toEqual(['zanzibar fresh']);
  const found = await api('GET', '/search/messages?q=zanzibar', 'mia');
  expect(found.list.map((m: { content: string }) => m.content)).toEqual(['zanzibar fresh']);
  // Unread agrees everywhere: one message left for mia.
  const unread = await api('GET', '/conversations/unread', 'mia');
  expect(unread.total).toBe(1);
  const inbox = await ts.server.rooms.borrow(inboxKey('mia' as IdentityId));
  try {
    expect(inboxRoots(inbox.doc).entries.get(key)).toMatchObject({
      unread: 1,
      preview: { text: 'zanzibar fresh' },
    });
  } finally {
    inbox.release();
  }
  const room = await ts.server.rooms.borrow(key);
  try {
    expect(await checkSnapshot(ts.server.db!.sql, room.doc)).toEqual([]);
  } finally {
    room.release();
  }
  // Compaction dropped the old text from disk (the stored log of the document).
  await ts.server.rooms.borrow(key).then(async (r) => {
    await r.read(() => undefined); // after the queued compaction
    r.release();
  });
  const stored = await ts.server.store.load(key);
  const bytes = Buffer.concat(stored.map((u) => Buffer.from(u)));
  expect(bytes.includes('zanzibar secret')).toBe(false);
  expect(bytes.includes('zanzibar fresh')).toBe(true);
  // A new message still gets the next seq.
  const next = await send('after');
  expect(next.seq).toBe(5);
});
