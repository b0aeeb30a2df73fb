import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasEnv, needs, redisUrlOn } from '../../test/cluster-env.js';
import { type Admission, RateLimiter } from '../moderation/rate-limit.js';
import { redisRateLimit } from './rate-limit.js';
import { connectRedis, type Redis } from './redis.js';

describe.skipIf(!hasEnv('REDIS_URL'))(`rate limits across nodes${needs('REDIS_URL')}`, () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await connectRedis(redisUrlOn(4));
  });
  afterAll(async () => {
    await redis.flushDb(); // this file's own logical database
    await redis.close();
  });
  const someone = () => `u${randomUUID().slice(0, 8)}`;
  const limits = {
    identity: { count: 5, windowMs: 10_000 },
    writes: { count: 3, windowMs: 10_000 },
  };

  it("holds an identity's limit across nodes, with the single-node formula (batches, debt)", async () => {
    const a = redisRateLimit({ redis, limits, now: Date.now });
    const b = redisRateLimit({ redis, limits, now: Date.now });
    const single = new RateLimiter(limits, () => 1_000_000); // the reference, its clock frozen
    const alice = someone();
    // [node, conversation, messages, other writes]: rooms owned by different nodes.
    const steps: Array<[typeof a, string, number, number]> = [
      [a, 'group_1', 2, 0],
      [b, 'group_2', 2, 1],
      [a, 'group_1', 2, 0], // one token left, two asked: refused
      [b, 'group_2', 1, 2],
      [a, 'group_3', 0, 1], // writes bucket empty
      [b, 'group_2', 1, 0],
    ];
    const got: Admission[] = [];
    const want: Admission[] = [];
    for (const [node, room, n, writes] of steps) {
      got.push(await node.take(alice, room, n, writes));
      want.push(single.take(alice, room, n, writes));
    }
    expect(got.map((g) => (g.ok ? 'ok' : g.scope))).toEqual(
      want.map((w) => (w.ok ? 'ok' : w.scope)),
    );
    expect(got.map((g) => g.ok)).toEqual([true, true, false, true, false, false]);
    got.forEach((g, i) => {
      const w = want[i]!;
      // Redis's clock moved on (refilling a little); the reference's did not.
      if (!g.ok && !w.ok) {
        expect(g.retryInMs).toBeLessThanOrEqual(w.retryInMs);
        expect(g.retryInMs).toBeGreaterThan(w.retryInMs - 1000);
      }
    });
    // A batch larger than the bucket passes a full bucket and leaves it in debt.
    const bob = someone();
    expect((await a.take(bob, 'group_1', 8)).ok).toBe(true);
    const next = await b.take(bob, 'group_2', 1);
    expect(next).toMatchObject({ ok: false, scope: 'identity' });
    expect((next as { retryInMs: number }).retryInMs).toBeGreaterThan(7_000); // 4 tokens at 2 s each, less the time between
  });

  it('keeps the conversation bucket on its owner and charges nothing when it refuses', async () => {
    const owner = redisRateLimit({
      redis,
      limits: {
        identity: { count: 10, windowMs: 10_000 },
        conversation: { count: 2, windowMs: 10_000 },
      },
      now: Date.now,
    });
    const carol = someone();
    expect((await owner.take(carol, 'group_1', 2)).ok).toBe(true);
    expect(await owner.take(carol, 'group_1', 1)).toMatchObject({
      ok: false,
      scope: 'conversation',
    });
    for (let i = 0; i < 8; i++) expect((await owner.take(carol, `group_x${i}`, 1)).ok).toBe(true);
    expect(await owner.take(carol, 'group_y', 1)).toMatchObject({ ok: false, scope: 'identity' });
  });

  it('fails open to a local bucket when Redis does not answer', async () => {
    const gone = await connectRedis(redisUrlOn(4));
    gone.destroy();
    const errors: unknown[] = [];
    const node = redisRateLimit({
      redis: gone,
      limits,
      now: Date.now,
      onError: (e) => errors.push(e),
    });
    const dave = someone();
    for (let i = 0; i < 5; i++) expect((await node.take(dave, 'group_1', 1)).ok).toBe(true);
    expect(await node.take(dave, 'group_1', 1)).toMatchObject({ ok: false, scope: 'identity' });
    expect(errors.length).toBeGreaterThan(0);
  });
});
