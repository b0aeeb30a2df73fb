/**
 * The inbox across nodes (two nodes in this process, cluster mode: the real Postgres log and
 * Redis). Bob's inbox is open on B; the group is created and written through a socket on A,
 * which owns it. Bob's inbox on B gets the group's entry when he is added, its preview and
 * unread count as alice posts on A, and loses it when he is removed; an inbox opened on B later
 * reads its entries from the log. B never loads or claims the group. Before this, each of those
 * stayed on A (the pass wrote only into inbox rooms on the conversation's own node).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Client } from '../../client/index.js';
import { ConvosyncError } from '../../shared/errors.js';
import type { DocName } from '../../shared/keys.js';
import { hasEnv, needs } from '../cluster-env.js';
import { id, sdkClient, type TestServer, waitFor } from '../helpers.js';
import { useInProcessCluster } from './in-process.js';

// A logical database no other test file uses: each flushes its own before it starts.
const REDIS_DB = 13;

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `the inbox across nodes${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    const cluster = useInProcessCluster({
      redisDb: REDIS_DB,
      nodes: [{}, {}],
      env: { RATE_LIMIT_CONVERSATION: 'off' },
    });
    const clients: Client[] = [];
    const client = async (on: TestServer, who: string) => {
      const c = await sdkClient(on.httpUrl, who);
      clients.push(c);
      return c;
    };
    // Registered after the cluster's: runs before its nodes close.
    afterAll(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
    });

    const nodes = () => ({ a: cluster.nodes[0]!, b: cluster.nodes[1]! });

    /**
     * The owner `on` drops its room of `key` and a rename lands in the log with no inbox pass
     * after it: a change no other node is told of (the owner died, or its notice was lost).
     */
    const renameUntold = async (on: TestServer, key: DocName, name: string) => {
      on.server.rooms.evict(key, new ConvosyncError('FENCED'));
      const store = on.server.cluster!.store;
      const { updates, head } = await store.loadLog(key);
      const doc = new Y.Doc();
      for (const update of updates) Y.applyUpdate(doc, update);
      const before = Y.encodeStateVector(doc);
      doc.getMap('meta').set('name', name);
      await store.appendAt(key, Y.encodeStateAsUpdate(doc, before), head + 1);
    };

    it('bob’s inbox on B follows a group A owns: joined, previews and unread, removed', async () => {
      const { a, b } = nodes();
      const bob = await client(b, 'bob');
      const inbox = await bob.inbox();
      await inbox.whenSynced();
      expect(b.server.cluster!.lease.owned().has('inbox_bob')).toBe(true);
      expect(inbox.list()).toEqual([]);

      // Dave's inbox is on A, the group's owner: the single-node path, for comparison.
      const daveInbox = await (await client(a, 'dave')).inbox();
      await daveInbox.whenSynced();
      const alice = await client(a, 'alice');
      const group = await alice.createGroup({
        name: 'owned by A',
        members: [
          { identity: 'bob', identityType: 1 },
          { identity: 'carol', identityType: 1 },
          { identity: 'dave', identityType: 1 },
        ],
      });
      await group.whenSynced();
      expect(a.server.cluster!.lease.owned().has(group.key)).toBe(true);

      const entryOf = () => inbox.list().find((e) => e.key === group.key);
      // Joined: the entry appears on B (the group's creation note as its preview).
      let since = performance.now();
      await waitFor(() => entryOf()?.name === 'owned by A', 10_000, 'the group listed on B');
      const joined = performance.now() - since;

      since = performance.now();
      const sent = group.send({ content: 'first from A' });
      const [posted, onOwner] = await Promise.all([
        waitFor(
          () =>
            entryOf()?.preview?.text === 'first from A' &&
            entryOf()?.unread === 1 &&
            performance.now() - since,
          10_000,
          'preview and unread on B',
        ),
        waitFor(
          () =>
            daveInbox.list().find((e) => e.key === group.key)?.unread === 1 &&
            performance.now() - since,
          10_000,
          'preview and unread on A',
        ),
        sent,
      ]);
      await group.send({ content: 'second from A' });
      await waitFor(
        () => entryOf()?.preview?.text === 'second from A' && entryOf()?.unread === 2,
        10_000,
        'the next message on B',
      );
      expect(entryOf()).toMatchObject({ type: 'group', status: 1 });

      // An inbox opened on B after the fact reads the group from the log (carol's: B claims it).
      const carol = await client(b, 'carol');
      const carolInbox = await carol.inbox();
      await waitFor(
        () => carolInbox.list().find((e) => e.key === group.key)?.unread === 2,
        10_000,
        'carol’s inbox opened on B',
      );
      expect(b.server.cluster!.lease.owned().has('inbox_carol')).toBe(true);

      since = performance.now();
      await group.remove(id('bob'));
      await waitFor(() => entryOf() === undefined, 10_000, 'the group gone from bob’s inbox on B');
      const removed = performance.now() - since;
      // Carol's entry stays and follows (the removal note).
      await waitFor(
        () => carolInbox.list().find((e) => e.key === group.key)?.preview?.system === true,
        10_000,
        'carol sees the removal',
      );

      // B read the group from copies of the log: it never loaded or claimed it.
      expect(b.server.rooms.peek(group.key)).toBeUndefined();
      expect(b.server.cluster!.lease.owned().has(group.key)).toBe(false);
      console.log(
        `inbox on B after a change on A: joined ${joined.toFixed(0)} ms, ` +
          `message ${posted.toFixed(0)} ms (an inbox on A: ${onOwner.toFixed(0)} ms), ` +
          `removed ${removed.toFixed(0)} ms`,
      );
    }, 60_000);

    it('a change its owner made durable but never told (it died before its pass) reaches B when the room loads again', async () => {
      const { a, b } = nodes();
      const erin = await client(b, 'erin');
      const inbox = await erin.inbox();
      await inbox.whenSynced();
      const frank = await client(a, 'frank');
      const group = await frank.createGroup({
        name: 'before',
        members: [{ identity: 'erin', identityType: 1 }],
      });
      await group.whenSynced();
      const key = group.key;
      const nameOnB = () => inbox.list().find((e) => e.key === key)?.name;
      await waitFor(() => nameOnB() === 'before', 10_000, 'listed on B');
      await frank.close();
      await a.server.inboxes.flush();
      // The owner "dies": its room is dropped, and an update lands in the log with no pass after.
      await renameUntold(a, key, 'after');
      // The room loads again (a member comes back, here on A; or A's projector retrying it first):
      // B's inbox follows the log.
      const again = await client(a, 'frank');
      await (await again.open(key)).whenSynced();
      await waitFor(() => nameOnB() === 'after', 10_000, 'B’s inbox repaired');
    }, 60_000);

    it('a node whose notices broke off brings every inbox open on it up to date (resync)', async () => {
      const { a, b } = nodes();
      // Many inboxes open on B, all listing one group A owns (the resync goes 16 at a time).
      const readers = Array.from({ length: 20 }, (_, i) => `reader${i}`);
      const inboxes = await Promise.all(
        readers.map(async (who) => {
          const inbox = await (await client(b, who)).inbox();
          await inbox.whenSynced();
          return inbox;
        }),
      );
      const gina = await client(a, 'gina');
      const group = await gina.createGroup({
        name: 'resync before',
        members: readers.map((identity) => ({ identity, identityType: 1 })),
      });
      await group.whenSynced();
      const key = group.key;
      const names = () => inboxes.map((inbox) => inbox.list().find((e) => e.key === key)?.name);
      await waitFor(() => names().every((n) => n === 'resync before'), 10_000, 'listed on B');
      await gina.close();
      await a.server.inboxes.flush();
      // A change B is never told of (its notice "lost"): written to the log with no pass after.
      await renameUntold(a, key, 'resync after');
      // B's subscription breaks; subscribed again, B resyncs every inbox open on it.
      const name = `cs-inbox-${b.server.cluster!.lease.id}`;
      const subscriber = (await cluster.redis.clientList()).find((c) => c.name === name);
      expect(subscriber, `a Redis client named ${name}`).toBeDefined();
      await cluster.redis.clientKill({ filter: 'ID', id: Number(subscriber!.id) });
      await waitFor(
        () => names().every((n) => n === 'resync after'),
        15_000,
        'every inbox on B up to date',
      );
      expect(b.server.rooms.peek(key)).toBeUndefined();
    }, 60_000);
  },
);
