/**
 * The inbox writer remembers the entries it last wrote only while their conversation is loaded:
 * once every room unloads, nothing of them is left (Inboxes.written used to keep 1–3 KB per
 * conversation touched since start, forever).
 */
import { expect, it } from 'vitest';
import { privateKey } from '../../shared/keys.js';
import { id, serverWithClients, waitFor } from '../helpers.js';

const env = serverWithClients({ ROOM_IDLE_MS: '50' });

it('forgets a conversation’s inbox entries when its room unloads', async () => {
  const alice = await env.client('alice');
  const partners = ['bob', 'carol', 'dave'];
  for (const other of partners) {
    const conv = await alice.openPrivate(other);
    await conv.send({ content: `hi ${other}` });
    await waitFor(() => conv.messages().every((m) => !m.pending), 5000, `${other} accepted`);
  }
  const { inboxes, rooms } = env.ts.server;
  await inboxes.flush();
  expect(inboxes.remembered).toBe(partners.length);

  await alice.close();
  await waitFor(
    () => partners.every((other) => !rooms.peek(privateKey(id('alice'), id(other)))),
    10_000,
    'rooms unloaded',
  );
  await inboxes.flush();
  expect(inboxes.remembered).toBe(0);

  // A later change still reaches the inbox (its first pass compares with the inbox itself).
  const bob = await env.client('bob');
  const conv = await bob.openPrivate('alice');
  await conv.send({ content: 'back' });
  const bobInbox = await bob.inbox();
  await waitFor(
    () => bobInbox.list().find((e) => e.preview?.text === 'back'),
    5000,
    'entry after reload',
  );
});
