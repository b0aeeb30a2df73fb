/**
 * A draining owner gives its rooms up before it compacts their logs: once its input stopped and
 * its inbox passes and projections ran, nothing is written there any more, and the clients it
 * refused find another owner at once. Here A's compaction of the conversation waits on a lock
 * the test holds on its snapshot row; B owns the conversation and serves it meanwhile. Before,
 * the rooms' leases went only after every room's compaction, so B waited for the whole drain.
 */
import { describe, expect, it } from 'vitest';
import { ownerKey } from '../../server/cluster/lease.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import { hasEnv, needs } from '../cluster-env.js';
import { id, postMessage, syncPeer, type TestServer, waitFor } from '../helpers.js';
import { useInProcessCluster } from './in-process.js';

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `drain${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    const cluster = useInProcessCluster({ redisDb: 6, nodes: [{}, {}] });

    it('releases the rooms before compacting them: another node owns and serves them meanwhile', async () => {
      const { sql, redis, schema } = cluster;
      const [a, b] = cluster.nodes as [TestServer, TestServer];
      const key = privateKey(id('kim'), id('lou'));
      const kim = await syncPeer(a, key, 'kim');
      expect(a.server.cluster!.lease.owned().has(key)).toBe(true);
      const sent = postMessage(kim, 'kim', { content: 'before the drain' });
      await waitFor(() => conversationRoots(kim.doc).stamps.has(sent.key), 5000, 'stamped');
      // Lou has opened it before (through B): his next join writes nothing. A write would wait
      // for A's compaction, as an append racing a compaction does (postgres.ts).
      (await syncPeer(b, key, 'lou')).close();

      // The test holds the snapshot row: A's compaction of this log waits for it.
      let release!: () => void;
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holding = sql.begin(async (tx) => {
        await tx.unsafe(`SELECT 1 FROM "${schema}".doc_snapshot WHERE doc = $1 FOR UPDATE`, [key]);
        locked();
        await new Promise<void>((resolve) => (release = resolve));
      });
      await isLocked;
      const draining = a.close(); // what SIGTERM does
      try {
        await waitFor(async () => (await redis.get(ownerKey(key))) === null, 5000, 'released');
        const lou = await syncPeer(b, key, 'lou');
        expect(b.server.cluster!.lease.owned().has(key)).toBe(true);
        expect(conversationRoots(lou.doc).messages.get(sent.key)?.content).toBe('before the drain');
        lou.close();
      } finally {
        release();
        await holding;
        await draining;
      }
    });
  },
);
