/**
 * A room a REST call opened is held for that call only, like a borrow: once the call is done
 * and nobody else uses it, it unloads when idle. Before, a room that only REST had opened (a
 * backend job's notices, a REST send into a chat nobody had open) never unloaded: one loaded
 * document per conversation ever touched, for the life of the process.
 */
import { expect, it } from 'vitest';
import { inboxKey, privateKey, systemKey } from '../../shared/keys.js';
import { id, serverWithClients, token, waitFor } from '../helpers.js';
import { restApi } from '../rest.js';

const env = serverWithClients({ ROOM_IDLE_MS: '50' });
const rest = restApi(() => env.ts);

it('rooms that REST calls opened unload once the calls are done', async () => {
  const identities = Array.from({ length: 8 }, (_, i) => `user${i}`);
  const res = await fetch(`${env.ts.httpUrl}/api/v1/notices`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await token('billing-job', 9, 'service')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ identities, content: 'Your order shipped' }),
  });
  expect(res.status).toBe(200);
  const sent = await rest.data('POST', '/messages/private', 'alice', {
    receiverId: 'bob',
    content: 'hi bob',
  });
  expect(sent.conversationSeq ?? sent.seq ?? 1).toBeGreaterThan(0);
  const { rooms } = env.ts.server;
  const keys = [...identities.map((i) => systemKey(id(i))), privateKey(id('alice'), id('bob'))];
  await waitFor(() => keys.every((key) => !rooms.peek(key)), 10_000, 'REST rooms unloaded');

  // A call that opens a room and writes nothing (the chat exists): nothing else borrows it after.
  await rest.data('POST', '/conversations/private', 'alice', { identityId: 'bob' });
  expect(rooms.peek(privateKey(id('alice'), id('bob')))).toBeDefined();
  await waitFor(
    () => !rooms.peek(privateKey(id('alice'), id('bob'))),
    10_000,
    'read-only open unloaded',
  );

  // A call that writes to the caller's inbox (its prefs), with no device of the caller online.
  const chatKey = privateKey(id('alice'), id('bob'));
  expect(
    await rest.data('POST', `/conversations/${encodeURIComponent(chatKey)}/mute`, 'alice'),
  ).toBe(true);
  expect(rooms.peek(inboxKey(id('alice')))).toBeDefined();
  await waitFor(() => !rooms.peek(inboxKey(id('alice'))), 10_000, 'inbox opened by REST unloaded');

  // Unloaded, not lost: the next reader sees what REST wrote.
  const bob = await env.client('bob');
  const chat = await bob.openPrivate('alice');
  await waitFor(
    () => chat.messages().some((m) => m.content === 'hi bob' && !m.pending),
    5000,
    'REST message after reload',
  );
});
