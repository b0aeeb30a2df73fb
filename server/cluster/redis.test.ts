import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hasEnv, needs, redisUrlOn } from '../../test/cluster-env.js';
import { connectRedis, script } from './redis.js';

describe('Redis connection', () => {
  it('says so at start-up when Redis cannot be reached, instead of retrying forever', async () => {
    const errors: Error[] = [];
    // Port 1 on loopback: nothing listens there.
    const error = await connectRedis('redis://127.0.0.1:1', {
      firstConnectMs: 300,
      onError: (e) => errors.push(e),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasEnv('REDIS_URL'))(`Lua scripts${needs('REDIS_URL')}`, () => {
  it('run in the order they were sent, also when Redis has no script loaded (a restart)', async () => {
    const redis = await connectRedis(redisUrlOn(2));
    const key = `cs:test:${randomUUID()}`;
    const set = script(`redis.call('SET', KEYS[1], ARGV[1]) return 1`);
    try {
      await redis.scriptFlush();
      // Sent back to back: the script, then a command that undoes it. An EVALSHA answered
      // NOSCRIPT and retried with EVAL would run the script last and leave the key set.
      const ran = set.run(redis, [key], ['x']);
      const deleted = redis.del(key);
      await Promise.all([ran, deleted]);
      expect(await redis.exists(key)).toBe(0);
      expect(await deleted).toBe(1);
    } finally {
      await redis.del(key);
      await redis.close();
    }
  });
});
