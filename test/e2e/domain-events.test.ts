/**
 * Domain events say who did what (seed §4 领域事件): each type with the spec's fields, derived
 * from the accepted actions. The projector waits a second here, so every step of the script
 * lands in one projection, as quick successions do in production (a removal and a re-invite
 * within 100 ms): state differences would hide them, accepted actions do not.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSnapshotServer } from '../db.js';
import type { TestServer } from '../helpers.js';
import { restApi } from '../rest.js';

let ts: TestServer;

beforeAll(async () => {
  ts = await startSnapshotServer({ PROJECTOR_DEBOUNCE_MS: '1000', PROJECTOR_MAX_DELAY_MS: '5000' });
}, 60_000);
afterAll(async () => {
  await ts.close();
});

const api = restApi(() => ts).data;

interface Row {
  event_type: string;
  payload: Record<string, unknown>;
  occurred_at: string;
}

async function events(conversationId: string): Promise<Row[]> {
  await ts.server.projector!.flush();
  return ts.server.db!.sql<Row[]>`
    SELECT event_type, payload, occurred_at FROM t_domain_event WHERE conversation_id = ${conversationId} ORDER BY event_id`;
}

const of = (rows: Row[], type: string) =>
  rows.filter((r) => r.event_type === type).map((r) => r.payload);

it('reports every event type with who did it, including a removal re-invited at once', async () => {
  const group = await api('POST', '/conversations/group', 'olga', {
    name: 'events',
    members: [
      { identityId: 'adam', identityType: 1 },
      { identityId: 'mia', identityType: 1 },
    ],
  });
  const key = group.conversationKey as string;
  const id = group.conversationId as string;
  await api('POST', `/conversations/${key}/members`, 'olga', {
    identityId: 'nina',
    identityType: 1,
  });
  await api('POST', `/conversations/${key}/exit`, 'mia'); // on its own, over REST
  // Removed, and invited back straight away.
  await api('DELETE', `/conversations/${key}/members/adam`, 'olga');
  await api('POST', `/conversations/${key}/members`, 'olga', {
    identityId: 'adam',
    identityType: 1,
  });
  const sent = await api('POST', '/messages/group', 'nina', {
    conversationKey: key,
    content: 'hi',
    messageFormat: 0,
  });
  const oops = await api('POST', '/messages/group', 'nina', {
    conversationKey: key,
    content: 'oops',
  });
  await api('PUT', `/messages/${oops.messageId}/recall`, 'nina');
  const beforeRead = Date.now();
  await api('PUT', `/messages/${sent.messageId}/read`, 'adam');
  const afterRead = Date.now();
  await api('POST', `/conversations/${key}/dissolve`, 'olga');

  const rows = await events(id);
  expect(of(rows, 'ConversationCreated')).toEqual([
    {
      conversationId: id,
      conversationType: 'group',
      memberIds: ['adam', 'mia', 'olga'],
      createdBy: 'olga',
    },
  ]);
  const joins = of(rows, 'MemberJoined').map((p) => [p.memberId, p.inviterId]);
  expect(joins).toEqual([
    ['adam', 'olga'],
    ['mia', 'olga'],
    ['olga', null],
    ['nina', 'olga'],
    ['adam', 'olga'], // the re-invite
  ]);
  expect(of(rows, 'MemberExited')).toEqual([
    { conversationId: id, memberId: 'mia', exitType: 'voluntary', operatorId: 'mia' },
    { conversationId: id, memberId: 'adam', exitType: 'removed', operatorId: 'olga' },
  ]);
  expect(of(rows, 'IMMessageSent')).toEqual([
    expect.objectContaining({
      messageId: sent.messageId,
      conversationId: id,
      senderId: 'nina',
      messageFormat: 0,
    }),
    expect.objectContaining({ messageId: oops.messageId, senderId: 'nina' }),
  ]);
  const [recalled] = of(rows, 'MessageRecalled');
  expect(recalled).toMatchObject({ messageId: oops.messageId, operatorId: 'nina' });
  expect(recalled?.recallTime).toEqual(expect.any(Number));
  const [read] = of(rows, 'MessageRead');
  expect(read).toMatchObject({ messageId: sent.messageId, readerId: 'adam' });
  // The time the read was accepted, not the time the projection ran (a second later).
  expect(read?.readTime as number).toBeGreaterThanOrEqual(beforeRead);
  expect(read?.readTime as number).toBeLessThanOrEqual(afterRead);
  expect(of(rows, 'ConversationDissolved')).toEqual([{ conversationId: id, operatorId: 'olga' }]);
});

it('a private chat: created with both members, then messages', async () => {
  const sent = await api('POST', '/messages/private', 'pat', {
    receiverId: 'quinn',
    content: 'hey',
  });
  const rows = await events(sent.conversationId);
  expect(rows.map((r) => r.event_type)).toEqual([
    'ConversationCreated',
    'MemberJoined',
    'MemberJoined',
    'IMMessageSent',
  ]);
  expect(of(rows, 'ConversationCreated')[0]).toMatchObject({
    conversationType: 'private',
    memberIds: ['pat', 'quinn'],
  });
});
