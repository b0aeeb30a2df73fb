/**
 * messageRetentionDays in cluster mode (two nodes in this process, the real Postgres log and
 * Redis): every node sweeps, each only the conversations it owns or claims being free, so an
 * expired message goes on one node and no node writes a document another owns. The servers'
 * clock is the test's, so "two days later" takes no time.
 */
import { describe, expect, it } from 'vitest';
import { ownerKey } from '../../server/cluster/lease.js';
import { ConvosyncError } from '../../shared/errors.js';
import { parseKey } from '../../shared/keys.js';
import { hasEnv, needs } from '../cluster-env.js';
import { waitFor } from '../helpers.js';
import { restApi } from '../rest.js';
import { useInProcessCluster } from './in-process.js';

const REDIS_DB = 12;
const DAY = 86_400_000;

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `retention on several nodes${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    let clock = Date.now();
    const cluster = useInProcessCluster({
      redisDb: REDIS_DB,
      env: { PROJECTOR_DEBOUNCE_MS: '10' },
      nodes: [{}, {}],
      overrides: { now: () => clock },
    });
    const a = () => cluster.nodes[0]!;
    const b = () => cluster.nodes[1]!;
    const onA = restApi(a);
    const onB = restApi(b);

    /** A group on A with two messages two days old, one fresh, and a retention of one day. */
    const oldGroup = async (name: string) => {
      const group = await onA.data('POST', '/conversations/group', 'olga', {
        name,
        members: [{ identityId: 'mia', identityType: 1 }],
      });
      const key = parseKey(group.conversationKey as string).key;
      const send = (content: string) =>
        onA.data('POST', '/messages/group', 'olga', { conversationKey: key, content });
      await send('old one');
      await send('old two');
      clock += 2 * DAY;
      await send('fresh');
      await onA.data('PUT', `/conversations/${key}/settings`, 'olga', { messageRetentionDays: 1 });
      await a().server.projector!.flush(); // the setting is in t_conversation, where sweeps look
      return key;
    };
    const history = async (key: string) =>
      (await onB.data('GET', `/messages/conversation/${key}`, 'mia')).list.map(
        (m: { content: string }) => m.content,
      );

    it('a node leaves a conversation another owns to that owner, and sweeps one nobody owns', async () => {
      const owned = await oldGroup('owned by A');
      expect(await b().server.retention!.sweep()).toBe(0);
      expect(await cluster.redis.get(ownerKey(owned))).toBe(a().server.cluster!.id);
      expect(await history(owned)).toContain('old one'); // untouched by B
      // The creation note and both old messages.
      expect(await a().server.retention!.sweep()).toBe(3);
      expect(await history(owned)).toEqual(['fresh']);

      const free = await oldGroup('owned by nobody');
      // Its owner lets it go (A unloads it and releases the lease). Deleting the lease key alone
      // raced A's next verify tick, which takes a missing key of a room it holds back (Redis
      // lost it): under load the sweep below found A owning it again.
      a().server.rooms.evict(free, new ConvosyncError('FENCED'));
      await waitFor(
        async () => (await cluster.redis.get(ownerKey(free))) === null,
        5000,
        'released',
      );
      expect(await b().server.retention!.sweep()).toBe(3);
      expect(await cluster.redis.get(ownerKey(free))).toBe(b().server.cluster!.id);
      expect(await history(free)).toEqual(['fresh']);
    }, 30_000);
  },
);
