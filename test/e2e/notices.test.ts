/**
 * System notices and customer service end to end: a backend job (service token) pushes notices
 * to many identities' system conversations and updates an order card in place; any platform
 * admin answers in an identity's assistant conversation and shows up as the one who answered.
 */
import { expect, it } from 'vitest';
import { MessageFormat } from '../../shared/enums.js';
import { assistantKey, systemKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import { id, serverWithClients, token, waitFor } from '../helpers.js';

const env = serverWithClients();
const client = (who: string, type = 1, role?: 'admin' | 'service') =>
  role ? token(who, type, role).then((t) => env.client(who, { token: t })) : env.client(who);
/** A REST call as a backend job (`service` token), or as a plain identity with `role: null`. */
const post = async (
  path: string,
  body: unknown,
  who = 'billing-job',
  role: 'service' | null = 'service',
) =>
  fetch(`${env.ts.httpUrl}/api/v1${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await token(who, 9, role ?? undefined)}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });

it('a backend job pushes a notice to many identities and updates an order card in place', async () => {
  const alice = await client('alice');
  const inbox = await alice.inbox();
  const res = await post('/notices', {
    identities: ['alice', 'bob', 'carol', 'bad_id'],
    content: 'Your seller verification was approved',
  });
  expect(res.status).toBe(200);
  const { data } = (await res.json()) as {
    data: { results: Array<{ identity: string; seq?: number; error?: string }> };
  };
  expect(data.results.map((r) => [r.identity, r.seq ?? r.error])).toEqual([
    ['alice', 1],
    ['bob', 1],
    ['carol', 1],
    ['bad_id', 'INVALID_IDENTITY'],
  ]);
  const notices = await alice.open(systemKey(id('alice')));
  await waitFor(
    () => notices.messages().some((m) => m.content.includes('approved')),
    5000,
    'notice delivered',
  );
  await waitFor(
    () => inbox.list().find((e) => e.key === notices.key && e.unread === 1),
    5000,
    'notice in the inbox',
  );
  // The identity only reads its notices.
  await expect(notices.send({ content: 'thanks' })).rejects.toMatchObject({
    code: 'POST_FORBIDDEN',
  });

  // An order card, then its status changes in place.
  const card = { bizType: 7, bizId: 'order-1001', title: 'Order #1001' };
  await post('/notices', { identities: ['alice'], format: MessageFormat.Card, card });
  const cardMessage = await waitFor(
    () => notices.messages().find((m) => m.card?.bizId === 'order-1001' && !m.pending),
    5000,
    'card',
  );
  expect(cardMessage.cardState).toBeUndefined();
  const update = await post('/notices/cards', {
    conversationKeys: [notices.key, systemKey(id('bob'))],
    bizType: 7,
    bizId: 'order-1001',
    status: 'shipped',
    fields: { carrier: 'SF Express' },
  });
  const updated = (await update.json()) as {
    data: { results: Array<{ updated: boolean; error?: string }> };
  };
  // bob never got that card: nothing to update there.
  expect(updated.data.results.map((r) => r.error ?? r.updated)).toEqual([true, 'NOT_FOUND']);
  await waitFor(
    () =>
      notices.messages().find((m) => m.key === cardMessage.key)?.cardState?.status === 'shipped',
    5000,
    'card updated',
  );
  expect(notices.messages().find((m) => m.key === cardMessage.key)?.cardState?.fields).toEqual({
    carrier: 'SF Express',
  });

  // Only services push notices.
  const forbidden = await post('/notices', { identities: ['bob'], content: 'x' }, 'alice', null);
  expect(forbidden.status).toBe(403);
  expect(((await forbidden.json()) as { code: string }).code).toBe('FORBIDDEN_SERVICE_ONLY');
  const invalid = await post('/notices', { identities: [], content: 'x' });
  expect(invalid.status).toBe(400);
});

it('any admin answers customer service, and the conversation shows which admin answered', async () => {
  const alice = await client('alice');
  const help = await alice.open(assistantKey(id('alice')));
  await help.send({ content: 'My order has not arrived' });
  const agent = await client('ops-li', 4, 'admin');
  const desk = await agent.open(assistantKey(id('alice')));
  await waitFor(() => desk.messages().some((m) => m.content.includes('order')), 5000, 'seen');
  await desk.send({ content: 'Let me check that for you' });
  const answer = await waitFor(
    () => help.messages().find((m) => m.content.startsWith('Let me') && !m.pending),
    5000,
    'answer',
  );
  expect(answer).toMatchObject({ sender: 'ops-li', senderType: 4 });
  await waitFor(
    () => conversationRoots(help.doc).members.get('ops-li')?.role === 2,
    5000,
    'the answering admin is listed',
  );
  const agentInbox = await agent.inbox();
  await waitFor(
    () => agentInbox.list().find((e) => e.key === help.key && e.name === 'alice'),
    5000,
    'in the admin inbox',
  );
  // A plain user cannot open someone else's customer service.
  const bob = await client('bob');
  const errors: string[] = [];
  const other = await bob.open(assistantKey(id('alice')));
  other.on('error', (e) => errors.push(e.code));
  await waitFor(() => errors.length > 0, 5000, 'refused');
});

it('a notice batch retried with its clientMessageKey reaches nobody twice', async () => {
  const body = {
    identities: ['dora', 'emil'],
    content: 'Maintenance tonight at 2:00',
    clientMessageKey: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
  };
  const send = async () => {
    const res = await post('/notices', body);
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: { results: Array<{ messageId: string; seq: number }> } })
      .data.results;
  };
  const first = await send();
  // The job timed out waiting and sends the whole batch again.
  const again = await send();
  expect(again).toEqual(first);
  const dora = await client('dora');
  const notices = await dora.open(systemKey(id('dora')));
  await waitFor(() => notices.messages().length > 0, 5000, 'notice delivered');
  expect(notices.messages().filter((m) => m.content.includes('Maintenance'))).toHaveLength(1);
});
