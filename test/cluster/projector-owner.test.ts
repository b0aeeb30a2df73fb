/**
 * The projector in cluster mode (two nodes in this process, the real Postgres log and Redis): a
 * node projects only the conversations it owns, never claims one to project it, and a node that
 * takes a conversation over projects what its previous owner appended but never projected (the
 * owner died between the append and the projection).
 */
import { describe, expect, it } from 'vitest';
import { ownerKey } from '../../server/cluster/lease.js';
import { ConvosyncError } from '../../shared/errors.js';
import { parseKey } from '../../shared/keys.js';
import { hasEnv, needs } from '../cluster-env.js';
import { waitFor } from '../helpers.js';
import { restApi } from '../rest.js';
import { useInProcessCluster } from './in-process.js';

const REDIS_DB = 10;

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `the projector on several nodes${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    // A's projector waits a minute: what A appends stays unprojected, as if A died first.
    const cluster = useInProcessCluster({
      redisDb: REDIS_DB,
      env: { RATE_LIMIT_CONVERSATION: 'off' },
      nodes: [{ PROJECTOR_DEBOUNCE_MS: '60000', PROJECTOR_MAX_DELAY_MS: '600000' }, {}],
    });
    const a = () => cluster.nodes[0]!;
    const b = () => cluster.nodes[1]!;
    const onA = restApi(a);
    const onB = restApi(b);

    const projected = async (messageId: string) =>
      (
        await cluster.sql.unsafe(
          `SELECT 1 FROM ${cluster.schema}.t_msg_body WHERE message_id = $1`,
          [messageId],
        )
      ).length > 0;

    it('the node that takes a conversation over projects what its last owner did not; the old owner does not claim it back', async () => {
      const group = await onA.data('POST', '/conversations/group', 'alice', {
        name: 'moves to B',
        members: [{ identityId: 'bob', identityType: 1 }],
      });
      const key = parseKey(group.conversationKey as string).key;
      const sent = await onA.data('POST', '/messages/group', 'alice', {
        conversationKey: key,
        content: 'appended on A, never projected there',
      });
      expect(a().server.cluster!.lease.owned().has(key)).toBe(true);
      expect(await projected(sent.messageId as string)).toBe(false);

      // A loses the conversation (its lease gone, as after a crash); B takes it over on the next
      // open. Nothing changes in the document after that: only a check on load can find the gap.
      await cluster.redis.del(ownerKey(key));
      const page = await onB.data('GET', `/messages/conversation/${key}`, 'bob');
      expect(page.list[0]).toMatchObject({ content: 'appended on A, never projected there' });
      expect(b().server.cluster!.lease.owned().has(key)).toBe(true);
      await waitFor(
        () => projected(sent.messageId as string),
        10_000,
        'B projects the message A appended',
      );

      // A's projector still has the conversation pending: projecting now leaves it to B (no
      // failure, no claim), and B stays the owner.
      await waitFor(
        () => !a().server.cluster!.lease.owned().has(key),
        5000,
        'A notices it lost the conversation',
      );
      await a().server.projector!.flush();
      expect(await cluster.redis.get(ownerKey(key))).toBe(b().server.cluster!.id);
      expect(a().server.rooms.peek(key)).toBeUndefined();
    }, 30_000);

    it('an orphan nobody opens again (its owner gone before projecting) is claimed and projected by a sweep', async () => {
      const group = await onA.data('POST', '/conversations/group', 'carl', {
        name: 'orphaned',
        members: [{ identityId: 'dina', identityType: 1 }],
      });
      const key = parseKey(group.conversationKey as string).key;
      const sent = await onA.data('POST', '/messages/group', 'carl', {
        conversationKey: key,
        content: 'appended, never projected, never opened again',
      });
      // A drops the room and its lease without projecting (its projector waits a minute).
      a().server.rooms.evict(key, new ConvosyncError('SHUTTING_DOWN'));
      await waitFor(
        async () => (await cluster.redis.get(ownerKey(key))) === null,
        5000,
        'lease released',
      );
      expect(await projected(sent.messageId as string)).toBe(false);

      expect(await b().server.orphans!.sweep(0)).toBeGreaterThanOrEqual(1);
      expect(await cluster.redis.get(ownerKey(key))).toBe(b().server.cluster!.id);
      await waitFor(() => projected(sent.messageId as string), 10_000, 'B projects the orphan');
      // Projected now: the next sweep leaves it alone.
      await b().server.projector!.flush();
      const again = await b().server.orphans!.sweep(0);
      expect(again).toBe(0);
    }, 30_000);
  },
);
