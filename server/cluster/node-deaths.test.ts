import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasEnv, needs, redisUrlOn } from '../../test/cluster-env.js';
import { createLogger } from '../log.js';
import { drainedKey, heartbeatKey } from './lease.js';
import { watchNodeDeaths } from './node-deaths.js';
import { connectRedis, type Redis } from './redis.js';

describe.skipIf(!hasEnv('REDIS_URL'))(`node deaths${needs('REDIS_URL')}`, () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await connectRedis(redisUrlOn(5)); // this file's own logical database
    await redis.flushDb();
  });
  afterAll(async () => {
    await redis.flushDb();
    await redis.close();
  });

  it('reports a node whose heartbeat went, once, and not one that drained', async () => {
    const minute = { expiration: { type: 'PX', value: 60_000 } } as const;
    const beat = (node: string) => redis.set(heartbeatKey(node), '1', minute);
    await Promise.all(['w', 'v', 'killed', 'drained'].map(beat));
    const gone: string[] = [];
    const watch = (self: string) =>
      watchNodeDeaths({
        redis,
        self,
        log: createLogger('silent'),
        intervalMs: 3_600_000, // ticked by hand
        onGone: (node) => gone.push(`${self} saw ${node}`),
      });
    const killed = watch('killed');
    const drained = watch('drained');
    const w = watch('w');
    const v = watch('v');
    for (const n of [killed, drained, w, v]) await n.tick();
    killed.close();
    drained.close();
    await w.tick(); // everyone is in w's and v's last tick now
    await v.tick();

    await redis.del(heartbeatKey('killed'));
    await redis.set(drainedKey('drained'), '1', minute);
    await redis.del(heartbeatKey('drained'));
    await w.tick();
    await v.tick(); // w already took both out of the set: v still reports the death
    await w.tick(); // once only
    expect(gone.sort()).toEqual(['v saw killed', 'w saw killed']);
    expect((await redis.sMembers('cs:nodes:live')).sort()).toEqual(['v', 'w']);
    w.close();
    v.close();
  });
});
