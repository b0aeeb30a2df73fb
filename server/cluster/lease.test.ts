import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasEnv, needs, redisUrlOn } from '../../test/cluster-env.js';
import { heartbeatKey, type LostReason, ownerKey, startNodeLease } from './lease.js';
import { connectRedis, type Redis } from './redis.js';

// Short timings keep the test quick (with room for a loaded machine's event-loop stalls);
// their order is the production one (renew 1 s < self-fence 4 s < expiry 5 s).
const FAST = { ttlMs: 1500, renewMs: 200, fenceAfterMs: 1200 };
const until = async (what: () => Promise<boolean> | boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(!hasEnv('REDIS_URL'))(`node lease${needs('REDIS_URL')}`, () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await connectRedis(redisUrlOn(2));
  });
  afterAll(async () => {
    await redis.flushDb(); // this file's own logical database
    await redis.close();
  });
  const room = () => `group_${randomUUID()}`;

  it('gives a room to exactly one of two racing nodes, and to the other after a drain', async () => {
    const a = await startNodeLease({ redis, id: `a-${randomUUID()}`, ...FAST });
    const b = await startNodeLease({ redis, id: `b-${randomUUID()}`, ...FAST });
    const r = room();
    const [ha, hb] = await Promise.all([a.claim(r), b.claim(r)]);
    expect(ha).toBe(hb);
    const winner = ha === a.id ? a : b;
    const loser = winner === a ? b : a;
    expect(winner.owned().has(r)).toBe(true);
    expect(loser.owned().has(r)).toBe(false);
    expect(await loser.owner(r)).toBe(winner.id);
    await winner.drain();
    expect(await redis.exists(heartbeatKey(winner.id))).toBe(0);
    expect(await loser.owner(r)).toBeUndefined();
    expect(await loser.claim(r)).toBe(loser.id);
    await loser.drain();
  });

  it('a retired node claims nothing: a room it gave up stays free for the others', async () => {
    const a = await startNodeLease({ redis, id: `a-${randomUUID()}`, ...FAST });
    const b = await startNodeLease({ redis, id: `b-${randomUUID()}`, ...FAST });
    const [mine, theirs] = [room(), room()];
    expect(await a.claim(mine)).toBe(a.id);
    expect(await b.claim(theirs)).toBe(b.id);
    a.retire();
    await a.release(mine);
    expect(await a.claim(mine)).toBeUndefined(); // free, and a takes it no more
    expect(a.owned().has(mine)).toBe(false);
    expect(await a.claim(theirs)).toBe(b.id);
    expect(await b.claim(mine)).toBe(b.id);
    await a.drain();
    await b.drain();
  });

  it('hands the room of a holder that stopped renewing to another node once its heartbeat expires', async () => {
    const a = await startNodeLease({ redis, id: `a-${randomUUID()}`, ...FAST });
    const b = await startNodeLease({ redis, id: `b-${randomUUID()}`, ...FAST });
    const r = room();
    expect(await a.claim(r)).toBe(a.id);
    a.stop(); // a crash, to the others: no renewal, nothing released
    expect(await b.claim(r)).toBe(a.id); // still alive for up to ttl
    await until(async () => (await b.claim(r)) === b.id);
    expect(a.alive()).toBe(false);
    await b.drain();
  });

  it('self-fences a holder paused past its lease (SIGSTOP), which another node took over', async () => {
    const url = redisUrlOn(2);
    const r = room();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/cluster/lease-holder.ts',
        url,
        `p-${randomUUID()}`,
        r,
        String(FAST.ttlMs),
        String(FAST.renewMs),
        String(FAST.fenceAfterMs),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const events: Array<{ event: string; holder?: string; reason?: LostReason; alive?: boolean }> =
      [];
    readline
      .createInterface({ input: child.stdout! })
      .on('line', (l) => events.push(JSON.parse(l)));
    try {
      await until(() => events.some((e) => e.event === 'claimed'), 15_000);
      const holder = events[0]!.holder!;
      const b = await startNodeLease({ redis, id: `b-${randomUUID()}`, ...FAST });
      child.kill('SIGSTOP');
      await until(async () => (await b.claim(r)) === b.id);
      child.kill('SIGCONT');
      await until(() => events.some((e) => e.event === 'lost'));
      // It gave the room up on its own, not alive when it did, and the room stayed with b.
      expect(events.find((e) => e.event === 'lost')).toMatchObject({
        reason: 'self-fenced',
        alive: false,
      });
      expect(await redis.get(ownerKey(r))).toBe(b.id);
      expect(holder).not.toBe(b.id);
      await b.drain();
    } finally {
      child.kill('SIGKILL');
    }
  });

  /**
   * The real Redis with VERIFY's answer held back once it has been sent (and has run): the
   * window in which a node releases or claims rooms a VERIFY on its way names.
   */
  const verifyAnswerHeld = (rooms: number) => {
    let sent: () => void = () => {};
    const ran = new Promise<void>((resolve) => {
      sent = resolve;
    });
    let answer: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      answer = resolve;
    });
    let held = false;
    const proxy = new Proxy(redis, {
      get(target, key, receiver) {
        if (key === 'eval')
          return async (source: string, options: { keys: string[]; arguments: string[] }) => {
            const result = target.eval(source, options); // sent now, in order
            if (held || !source.includes('ipairs(KEYS)') || options.keys.length !== rooms)
              return result;
            held = true;
            await result;
            sent();
            await gate;
            return result;
          };
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { redis: proxy as Redis, ran, answer };
  };

  // The order the node sent them in holds (redis.test.ts checks the scripts keep it after a
  // Redis restart): the VERIFY ran first and found both rooms a's; the RELEASEs and the CLAIM
  // after it decide.
  it('a VERIFY on its way leaves a room released meanwhile free, and one claimed again owned', async () => {
    const held = verifyAnswerHeld(2);
    const a = await startNodeLease({ redis: held.redis, id: `a-${randomUUID()}`, ...FAST });
    const [gone, back] = [room(), room()];
    try {
      expect(await a.claim(gone)).toBe(a.id);
      expect(await a.claim(back)).toBe(a.id);
      await held.ran; // a tick's VERIFY naming both rooms has run; its answer is held
      await a.release(gone);
      await a.release(back);
      expect(await a.claim(back)).toBe(a.id); // a client reopened it
      held.answer();
      await new Promise((resolve) => setTimeout(resolve, 3 * FAST.renewMs));
      expect(await redis.get(ownerKey(gone))).toBeNull();
      expect(a.owned().has(gone)).toBe(false);
      expect(await redis.get(ownerKey(back))).toBe(a.id);
      expect(a.owned().has(back)).toBe(true);
    } finally {
      held.answer();
      await a.drain();
    }
  });

  it('claims its rooms again after Redis lost everything, and reports a room another node got first', async () => {
    const lost: string[] = [];
    const a = await startNodeLease({
      redis,
      id: `a-${randomUUID()}`,
      ...FAST,
      onLost: (room) => lost.push(room),
    });
    const b = await startNodeLease({ redis, id: `b-${randomUUID()}`, ...FAST });
    const kept = room();
    const contested = room();
    expect(await a.claim(kept)).toBe(a.id);
    expect(await a.claim(contested)).toBe(a.id);
    await redis.flushDb(); // FLUSHALL, limited to this test's database
    // b renews first and takes the contested room while a's claim is gone.
    await until(async () => (await redis.exists(heartbeatKey(b.id))) === 1);
    await redis.set(ownerKey(contested), b.id); // what b's claim does on a free room
    await until(() => lost.includes(contested));
    await until(async () => (await redis.get(ownerKey(kept))) === a.id);
    expect(await redis.exists(heartbeatKey(a.id))).toBe(1);
    expect([...a.owned()]).toEqual([kept]);
    expect(lost).toEqual([contested]);
    await a.drain();
    await b.drain();
  });
});
