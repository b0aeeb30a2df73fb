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

  /** A promise and the function that settles it. */
  const latch = () => {
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { open, opened };
  };
  /**
   * The real Redis with its script calls (EVALSHA, EVAL) passed through `hook`, which may hold
   * one back or answer NOSCRIPT as Redis does after a restart: the reorderings a script's
   * retry (a second round trip) allows, made to happen on purpose.
   */
  type ScriptCall = (
    name: 'evalSha' | 'eval',
    keys: string[],
    call: () => Promise<unknown>,
  ) => Promise<unknown>;
  const scripted = (hook: { current?: ScriptCall }) =>
    new Proxy(redis, {
      get(target, key, receiver) {
        if (key === 'evalSha' || key === 'eval')
          return (script: string, options: { keys: string[]; arguments: string[] }) => {
            const call = () =>
              key === 'evalSha' ? target.evalSha(script, options) : target.eval(script, options);
            return hook.current ? hook.current(key, options.keys, call) : call();
          };
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const NOSCRIPT = () => new Error('NOSCRIPT No matching script. Please use EVAL.');
  /** Resolves with the result of VERIFY's EVAL (the retry after NOSCRIPT) once it ran. */
  const verifyHeldAtNoscript = (hook: { current?: ScriptCall }, r: string) => {
    const reached = latch();
    const gate = latch();
    let ran: (result: unknown) => void = () => {};
    const evaluated = new Promise<unknown>((resolve) => {
      ran = resolve;
    });
    let held = false;
    hook.current = async (name, keys, call) => {
      // A tick's VERIFY names every owned room; r is the only one here.
      if (name === 'evalSha' && !held && keys.length === 1 && keys[0] === ownerKey(r)) {
        held = true;
        reached.open();
        await gate.opened;
        throw NOSCRIPT();
      }
      const result = await call();
      if (name === 'eval' && held) ran(result);
      return result;
    };
    return { reached: reached.opened, open: gate.open, evaluated };
  };

  /** A node on the scripted Redis that owns a room, its next VERIFY to be held at NOSCRIPT. */
  const ownsRoomWithVerifyHeld = async () => {
    const hook: { current?: ScriptCall } = {};
    const a = await startNodeLease({ redis: scripted(hook), id: `a-${randomUUID()}`, ...FAST });
    const r = room();
    expect(await a.claim(r)).toBe(a.id);
    return { hook, a, r, verify: verifyHeldAtNoscript(hook, r) };
  };

  it('gives a room up again when a VERIFY retried after NOSCRIPT ran after its release', async () => {
    const { a, r, verify } = await ownsRoomWithVerifyHeld();
    try {
      await verify.reached; // the next tick's VERIFY, with r among a's rooms
      await a.release(r);
      expect(await redis.get(ownerKey(r))).toBeNull();
      verify.open();
      // VERIFY's EVAL ran after the RELEASE: it found r free and set it to a again (2)...
      expect(await verify.evaluated).toEqual([2]);
      // ...and a gives it up again, for good: it no longer counts it as its own.
      await until(async () => (await redis.get(ownerKey(r))) === null);
      await new Promise((resolve) => setTimeout(resolve, 3 * FAST.renewMs));
      expect(await redis.get(ownerKey(r))).toBeNull();
      expect(a.owned().has(r)).toBe(false);
    } finally {
      verify.open();
      await a.drain();
    }
  });

  it('keeps a room claimed again while such a VERIFY was on its way', async () => {
    const { hook, a, r, verify } = await ownsRoomWithVerifyHeld();
    const verifyGate = latch();
    const claimSent = latch();
    const claimGate = latch();
    try {
      await verify.reached;
      await a.release(r);
      // From here: VERIFY's EVAL runs (r free: set to a, answers 2) but its answer is held; a
      // client reopens r meanwhile, so a claims it again: its CLAIM runs after the EVAL (r is
      // a's: answers a) and its answer is held too. VERIFY's answer then comes first.
      const verifyHook = hook.current!;
      hook.current = async (name, keys, call) => {
        if (name === 'eval') {
          const result = await verifyHook(name, keys, call);
          await verifyGate.opened;
          return result;
        }
        if (name === 'evalSha' && keys[0] === ownerKey(r)) {
          const result = await call();
          claimSent.open();
          await claimGate.opened;
          return result;
        }
        return verifyHook(name, keys, call);
      };
      verify.open();
      expect(await verify.evaluated).toEqual([2]);
      const claimed = a.claim(r);
      await claimSent.opened;
      verifyGate.open(); // a reads VERIFY's 2 while its claim of r is still on its way
      await new Promise((resolve) => setTimeout(resolve, 50));
      claimGate.open();
      expect(await claimed).toBe(a.id);
      // r stays a's, in Redis as in a's own set: the VERIFY did not release the new claim (a
      // later tick would set a key a owns back, so the first look is the one that tells).
      expect(await redis.get(ownerKey(r))).toBe(a.id);
      await new Promise((resolve) => setTimeout(resolve, 3 * FAST.renewMs));
      expect(await redis.get(ownerKey(r))).toBe(a.id);
      expect(a.owned().has(r)).toBe(true);
    } finally {
      verify.open();
      verifyGate.open();
      claimGate.open();
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
