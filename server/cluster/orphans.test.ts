import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasEnv, needs, redisUrlOn } from '../../test/cluster-env.js';
import { openTestDatabase } from '../../test/db.js';
import type { Database } from '../db/connect.js';
import { migrate } from '../db/migrate.js';
import { createLogger } from '../log.js';
import { type NodeLease, startNodeLease } from './lease.js';
import { OrphanSweep } from './orphans.js';
import { connectRedis, type Redis } from './redis.js';

const REDIS_DB = 7;

describe.skipIf(!hasEnv('REDIS_URL'))(`the orphan sweep${needs('REDIS_URL')}`, () => {
  let redis: Redis;
  let db: Database;
  beforeAll(async () => {
    redis = await connectRedis(redisUrlOn(REDIS_DB));
    db = await openTestDatabase();
    await migrate(db.sql);
  });
  afterAll(async () => {
    await db?.close();
    await redis?.flushDb();
    await redis?.close();
  });

  it('stop waits for a sweep under way, which still projects what it claimed', async () => {
    // A conversation its owner appended to a minute ago and never projected.
    const doc = `group_${randomBytes(16).toString('hex')}`;
    await db.sql`INSERT INTO doc_log (doc, pos, node, upd, at)
      VALUES (${doc}, 1, 1, ${Buffer.from([0, 0])}, now() - interval '1 minute')`;
    const lease = await startNodeLease({ redis, id: `sweeper-${randomUUID()}` });
    // The sweep's claim waits for the test, so the sweep is under way when stop is called.
    let reached: () => void = () => {};
    const atClaim = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const slowLease: NodeLease = {
      ...lease,
      owned: () => lease.owned(),
      claim: async (room) => {
        reached();
        await gate;
        return lease.claim(room);
      },
    };
    const projected: string[] = [];
    const sweep = new OrphanSweep({
      sql: db.sql,
      lease: slowLease,
      project: (key) => projected.push(key),
      log: createLogger('silent'),
      intervalMs: 60_000,
      settleMs: 0,
    });
    const swept = sweep.sweep(0);
    try {
      // (A sweep that failed or found nothing ends the wait too, and the test with it.)
      await Promise.race([atClaim, swept]);
      let stopped = false;
      const stopping = sweep.stop().then(() => {
        stopped = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stopped).toBe(false); // the sweep holds the claim
      open();
      await stopping;
      expect(projected).toContain(doc); // done before stop resolved
      expect(await swept).toBeGreaterThanOrEqual(1);
      // Stopped: no sweep runs any more.
      expect(await sweep.sweep(0)).toBe(0);
    } finally {
      open();
      await lease.drain();
    }
  });
});
