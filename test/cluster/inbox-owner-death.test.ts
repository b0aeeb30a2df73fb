/**
 * An owner that dies between a message and its inbox pass (issue 16: "inbox repair after an
 * owner's death"). Node A owns a group; bob's inbox is open on node B. A takes alice's message
 * and is killed (kill -9) before its inbox pass (INBOX_DEBOUNCE_MS=3000 holds the pass back),
 * so no notice ever goes out, and nobody loads the group again within the test's 20 s (the
 * orphan sweep looks at documents settled 30 s, once a minute). B sees A's heartbeat go and
 * resyncs its open inboxes from the log: bob's entry shows the message within seconds. Before,
 * it kept the old preview until the group loaded somewhere or his inbox reopened.
 */
import { describe, expect, it } from 'vitest';
import { conversationRoots } from '../../shared/schema.js';
import { killed } from '../child-server.js';
import { hasEnv, needs } from '../cluster-env.js';
import { waitFor } from '../helpers.js';
import { useTestCluster } from './nodes.js';

// A logical database no other test file uses: each flushes its own before it starts.
const REDIS_DB = 15;

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `inbox repair after an owner's death${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    const t = useTestCluster(
      REDIS_DB,
      { maxBackoffMs: 250 },
      { INBOX_DEBOUNCE_MS: '3000', INBOX_MAX_DELAY_MS: '6000' },
    );
    const client = t.client;

    it('bob’s inbox on B shows the message A took in before it was killed', async () => {
      const [a, b] = await Promise.all([t.cluster.start('A', 1), t.cluster.start('B', 2)]);
      const bob = await client(b.url, 'bob');
      const inbox = await bob.inbox();
      await inbox.whenSynced();
      const alice = await client(a.url, 'alice');
      const group = await alice.createGroup({
        name: 'owned by A',
        members: [{ identity: 'bob', identityType: 1 }],
      });
      await group.whenSynced();
      const entryOf = () => inbox.list().find((e) => e.key === group.key);
      await waitFor(() => entryOf()?.name === 'owned by A', 20_000, 'the group listed on B');
      expect(entryOf()?.unread ?? 0).toBe(0);

      const sent = await group.send({ content: 'just before A died' });
      // Stamped: A acknowledged it, so it is durable in A's log.
      await waitFor(
        () => conversationRoots(group.doc).stamps.has(sent.key),
        10_000,
        'the message stamped by A',
      );
      await killed(a.child); // before its inbox pass, 3 s after the message
      await waitFor(
        () => entryOf()?.preview?.text === 'just before A died' && entryOf()?.unread === 1,
        20_000,
        'bob’s entry on B shows the message',
      );
    }, 60_000);
  },
);
