import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asIdentityId } from '../../shared/ids.js';
import { hasEnv, needs, redisUrlOn } from '../../test/cluster-env.js';
import { startNodeLease } from './lease.js';
import { redisPresence } from './presence.js';
import { connectRedis, type Redis } from './redis.js';

const FAST = { ttlMs: 1500, renewMs: 200, fenceAfterMs: 1200 };
const until = async (what: () => Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(!hasEnv('REDIS_URL'))(`presence across nodes${needs('REDIS_URL')}`, () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await connectRedis(redisUrlOn(3));
  });
  afterAll(async () => {
    await redis.flushDb(); // this file's own logical database
    await redis.close();
  });
  const node = async () => {
    const lease = await startNodeLease({ redis, id: `n-${randomUUID()}`, ...FAST });
    return { lease, presence: redisPresence({ redis, node: lease.id }) };
  };
  const someone = () => asIdentityId(`u${randomUUID().slice(0, 8)}`);

  it('is online while a socket is open on any node, offline with a last-seen time after the last', async () => {
    const a = await node();
    const b = await node();
    const alice = someone();
    expect(await a.presence.lookup([alice])).toEqual([
      { identity: alice, online: false, lastSeenAt: null },
    ]);
    a.presence.connected(alice);
    b.presence.connected(alice);
    await until(async () => (await b.presence.lookup([alice]))[0]!.online);
    a.presence.disconnected(alice);
    a.presence.disconnected(alice); // one too many: ignored
    expect((await b.presence.lookup([alice]))[0]!.online).toBe(true);
    b.presence.disconnected(alice);
    const [entry] = await a.presence.lookup([alice]);
    expect(entry).toMatchObject({ online: false });
    expect(entry!.lastSeenAt).toBeGreaterThan(0);
    for (const n of [a, b]) {
      await n.presence.close();
      await n.lease.drain();
    }
  });

  it("takes a crashed node's identities offline once its heartbeat expires", async () => {
    const a = await node();
    const b = await node();
    const bob = someone();
    b.presence.connected(bob);
    expect((await a.presence.lookup([bob]))[0]!.online).toBe(true);
    b.lease.stop(); // crashed: no renewal, nothing cleaned up
    await until(async () => !(await a.presence.lookup([bob]))[0]!.online);
    const [entry] = await a.presence.lookup([bob]);
    expect(entry!.lastSeenAt).toBeGreaterThan(0);
    expect(await redis.exists(`cs:pres:${b.lease.id}`)).toBe(0);
    await a.presence.close();
    await a.lease.drain();
  });

  it('rewrites its counts after Redis lost them', async () => {
    const a = await node();
    const carol = someone();
    a.presence.connected(carol);
    await until(async () => (await a.presence.lookup([carol]))[0]!.online);
    await redis.flushDb(); // FLUSHALL, limited to this test's database
    expect((await a.presence.lookup([carol]))[0]!.online).toBe(false);
    await until(async () => (await redis.exists(`cs:node:${a.lease.id}`)) === 1);
    await a.presence.sync();
    expect((await a.presence.lookup([carol]))[0]!.online).toBe(true);
    await a.presence.close();
    expect((await a.presence.lookup([carol]))[0]!.online).toBe(false);
    await a.lease.drain();
  });
});
