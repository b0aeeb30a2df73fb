/**
 * A lookup on a node that does not own the conversation waits for the owner's projection: it is
 * woken by the owner's committed pass (Postgres NOTIFY on the projectors' channel), not by
 * polling. The owner projects 50 ms after the message (its debounce) while the lookup's
 * deadline is 31 s away (PROJECTOR_MAX_DELAY_MS + 1 s) and its fallback poll 60 s: only the
 * notification can answer it within the test's time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseKey } from '../../shared/keys.js';
import { hasEnv, needs } from '../cluster-env.js';
import type { TestServer } from '../helpers.js';
import { restApi } from '../rest.js';
import { useInProcessCluster } from './in-process.js';

const REDIS_DB = 14;

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `lookups across nodes${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    const cluster = useInProcessCluster({
      redisDb: REDIS_DB,
      env: {
        RATE_LIMIT_CONVERSATION: 'off',
        PROJECTOR_DEBOUNCE_MS: '50',
        PROJECTOR_MAX_DELAY_MS: '30000',
        // The fallback poll (for a broken listening connection) out of the way too.
        LOOKUP_POLL_MS: '60000',
      },
      nodes: [{}, {}],
    });
    let a: TestServer;
    let b: TestServer;
    const onA = restApi(() => a);
    const onB = restApi(() => b);
    beforeAll(() => {
      [a, b] = cluster.nodes as [TestServer, TestServer];
    });

    it('a message just written on its owner A is found by id on B once A’s pass commits', async () => {
      const group = await onA.data('POST', '/conversations/group', 'alice', {
        name: 'owned by A',
        members: [{ identityId: 'bob', identityType: 1 }],
      });
      const key = parseKey(group.conversationKey as string).key;
      expect(a.server.cluster!.lease.owned().has(key)).toBe(true);
      for (const content of ['one', 'two', 'three']) {
        const sent = await onA.data('POST', '/messages/group', 'alice', {
          conversationKey: key,
          content,
        });
        // B has not projected it (A owns it) and A projects 50 ms after the message.
        const found = await onB.call('GET', `/messages/${sent.messageId}`, 'bob');
        expect({ status: found.status, content: found.body.data?.content }).toEqual({
          status: 200,
          content,
        });
      }
    }, 10_000);
  },
);
