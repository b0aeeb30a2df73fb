/**
 * One definition of unread (shared/rules/unread.ts): after one scripted history (system
 * messages, a recall, a read position, a late joiner, a dissolution, a private chat), the
 * inbox entries, the projected tables (t_conversation_member.unread_count and the private
 * chat's two columns), REST GET /conversations/unread and the snapshot checker all give the
 * same numbers, and those are the numbers the definition gives by hand.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkSnapshot } from '../../server/projector/check.js';
import type { IdentityId } from '../../shared/ids.js';
import { inboxKey } from '../../shared/keys.js';
import { inboxRoots } from '../../shared/schema.js';
import { startSnapshotServer } from '../db.js';
import type { TestServer } from '../helpers.js';
import { restApi } from '../rest.js';

let ts: TestServer;

beforeAll(async () => {
  ts = await startSnapshotServer();
}, 60_000);
afterAll(async () => {
  await ts.close();
});

const api = restApi(() => ts).data;

async function inboxUnread(identity: string, key: string): Promise<number | undefined> {
  const inbox = await ts.server.rooms.borrow(inboxKey(identity as IdentityId));
  try {
    return inboxRoots(inbox.doc).entries.get(key)?.unread;
  } finally {
    inbox.release();
  }
}

async function restUnread(identity: string): Promise<Record<string, number>> {
  const data = await api('GET', '/conversations/unread', identity);
  return Object.fromEntries(
    (data.byConversation as Array<{ conversationKey: string; unreadCount: number }>).map((c) => [
      c.conversationKey,
      c.unreadCount,
    ]),
  );
}

async function tableUnread(key: string): Promise<Record<string, number>> {
  const rows = await ts.server.db!.sql<{ identity_id: string; unread_count: string }[]>`
    SELECT m.identity_id, m.unread_count FROM t_conversation_member m
    JOIN t_conversation c USING (conversation_id) WHERE c.conversation_key = ${key}`;
  return Object.fromEntries(rows.map((r) => [r.identity_id, Number(r.unread_count)]));
}

async function settle(): Promise<void> {
  await ts.server.projector!.flush();
  await ts.server.inboxes.flush();
}

async function checker(key: string): Promise<string[]> {
  const room = await ts.server.rooms.borrow(key);
  try {
    return await checkSnapshot(ts.server.db!.sql, room.doc);
  } finally {
    room.release();
  }
}

it('inbox, tables, REST and the checker agree on one scripted history', async () => {
  // seq 1: "olga created the group" (a system message).
  const group = await api('POST', '/conversations/group', 'olga', {
    name: 'unread',
    members: [
      { identityId: 'adam', identityType: 1 },
      { identityId: 'mia', identityType: 1 },
    ],
  });
  const key = group.conversationKey as string;
  const send = (who: string, content: string) =>
    api('POST', '/messages/group', who, { conversationKey: key, content });
  await send('olga', 'm1'); // seq 2
  const m2 = await send('adam', 'm2'); // seq 3
  const m3 = await send('olga', 'm3'); // seq 4
  await api('POST', `/conversations/${key}/members`, 'olga', {
    identityId: 'nina',
    identityType: 1,
  }); // seq 5: "olga invited nina" (system)
  await api('PUT', `/messages/${m2.messageId}/read`, 'mia'); // mia's position: 3
  await api('PUT', `/messages/${m3.messageId}/recall`, 'olga'); // m3 recalled
  await send('adam', 'm4'); // seq 6

  // By hand: olga m2 m4; adam m1 (m3 recalled); mia after 3: m4 (m3 recalled, seq 5 system);
  // nina (position 0): m1 m2 m4.
  const expected = { olga: 2, adam: 1, mia: 1, nina: 3 };
  await settle();
  expect(await tableUnread(key)).toEqual(expected);
  for (const [who, n] of Object.entries(expected)) {
    expect(await inboxUnread(who, key), `${who} inbox`).toBe(n);
    expect((await restUnread(who))[key], `${who} REST`).toBe(n);
  }
  expect(await checker(key)).toEqual([]);

  // Dissolving writes one more system message: nobody's count moves.
  await api('POST', `/conversations/${key}/dissolve`, 'olga');
  await settle();
  expect(await tableUnread(key)).toEqual(expected);
  for (const [who, n] of Object.entries(expected))
    expect(await inboxUnread(who, key), `${who} inbox after dissolve`).toBe(n);
  expect(await checker(key)).toEqual([]);
});

it('a private chat: the two unread columns, the inbox, REST and the checker agree', async () => {
  const first = await api('POST', '/messages/private', 'bea', {
    receiverId: 'cal',
    content: 'a',
  });
  await api('POST', '/messages/private', 'bea', { receiverId: 'cal', content: 'b' });
  const third = await api('POST', '/messages/private', 'bea', {
    receiverId: 'cal',
    content: 'c',
  });
  await api('POST', '/messages/private', 'cal', { receiverId: 'bea', content: 'd' });
  await api('PUT', `/messages/${third.messageId}/recall`, 'bea');
  const key = first.conversationKey as string;
  await settle();
  const [row] = await ts.server.db!.sql<
    { first_identity_unread_count: string; second_identity_unread_count: string }[]
  >`SELECT first_identity_unread_count, second_identity_unread_count FROM t_conversation WHERE conversation_key = ${key}`;
  // bea (first) has d; cal (second) has a and b (c recalled).
  expect([
    Number(row!.first_identity_unread_count),
    Number(row!.second_identity_unread_count),
  ]).toEqual([1, 2]);
  expect(await inboxUnread('bea', key)).toBe(1);
  expect(await inboxUnread('cal', key)).toBe(2);
  expect((await restUnread('bea'))[key]).toBe(1);
  expect((await restUnread('cal'))[key]).toBe(2);
  expect(await checker(key)).toEqual([]);
});
