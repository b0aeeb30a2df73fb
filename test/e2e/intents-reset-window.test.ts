/**
 * After a rejection the SDK rebuilds the document empty and replays the queued intents once the
 * server's state arrives. An intent the app makes in that window must not be written ahead of
 * them: found by the fuzz test (a rename written into the empty document before the group's own
 * creation was replayed, so the replayed genesis was refused, "a group's genesis sets meta.name",
 * and the group was lost).
 */
import { expect, it } from 'vitest';
import type { Intent } from '../../client/intents.js';
import type { Outcome } from '../../client/outbox.js';
import { conversationRoots } from '../../shared/schema.js';
import { serverWithClients, waitFor } from '../helpers.js';

// A word the server refuses (the SDK does not know the list): a rejection, then a reset.
const env = serverWithClients({ SENSITIVE_WORDS: 'forbidden', MODERATION_MODE: 'reject' });

it('an intent made while a reset waits for the server is replayed after the queued ones, in order', async () => {
  const alice = await env.client('alice', { maxBackoffMs: 100 });
  const bob = await env.client('bob', { maxBackoffMs: 100 });
  alice.goOffline();
  const g = await alice.createGroup({
    name: 'made offline',
    members: [{ identity: 'bob', identityType: 1 }],
  });
  const outcomes: string[] = [];
  g.on('intent', (intent: Intent, outcome: Outcome) =>
    outcomes.push(
      `${intent.kind} ${outcome.status}${outcome.status === 'refused' ? ` ${outcome.error.code}` : ''}`,
    ),
  );
  await g.send({ content: 'a forbidden word' });
  let renamed: Promise<void> | undefined;
  g.on('reset', () => {
    // The app acts right after the rebuild, before the resync that replays the queue.
    renamed ??= g.updateInfo({ name: 'renamed meanwhile' });
  });
  alice.goOnline();
  await waitFor(() => renamed !== undefined, 10_000, 'a reset');
  await renamed;
  await waitFor(() => g.pendingIntents().length === 0, 10_000, 'nothing pending');
  expect(outcomes.filter((o) => !o.startsWith('send')).sort()).toEqual([
    'createGroup accepted',
    'updateInfo accepted',
  ]);
  expect(outcomes.find((o) => o.startsWith('send'))).toMatch(/^send refused/);
  const b = await bob.open(g.key);
  await waitFor(
    () => conversationRoots(b.doc).meta.get('name') === 'renamed meanwhile',
    5000,
    'the group, renamed, at bob',
  );
});
