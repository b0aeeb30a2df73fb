/**
 * @module Node heartbeat and conversation ownership in Redis (../shared/notes/scale-out.md,
 * "Leases"). The lease decides who *should* write a conversation; the log's fence in Postgres
 * (store/fenced.ts) decides who *can*, so a lease that lapses or is lost only delays writes.
 *
 * - Heartbeat: `cs:node:{id}` is set with PX ttl (5 s) every renew interval (1 s). The id is
 *   unique per process life (slot and boot), so a restarted node never inherits its past claims.
 * - Self-fence: a node that has not renewed for `fenceAfterMs` (4 s, before the key can expire)
 *   stops owning: every owned room is reported lost. Checked on every tick and in `alive()`, so
 *   a process resumed after a pause (SIGSTOP, a long GC) sees it before it writes.
 * - Ownership: `cs:owner:{room}` holds the owner's id, with no TTL of its own. A claim is a Lua
 *   compare-and-set that succeeds when the key is free or its holder's heartbeat is gone, so a
 *   dead or paused owner is replaced once its heartbeat expires.
 * - Each tick also checks the rooms this node owns: one wiped by FLUSHALL (or a Redis restart)
 *   is claimed again; one another node holds now is reported lost.
 * - Drain releases every owned room (compare-and-delete) and the heartbeat.
 *
 * The scripts read the holder's heartbeat key, which is not among their KEYS: fine on one Redis,
 * which is what this design uses (Redis Cluster would need hash tags).
 */
import { performance } from 'node:perf_hooks';
import { type Redis, script } from './redis.js';

export const heartbeatKey = (node: string) => `cs:node:${node}`;
export const ownerKey = (room: string) => `cs:owner:${room}`;
/** Set for a minute by a node that drained: its heartbeat went on purpose (node-deaths.ts). */
export const drainedKey = (node: string) => `cs:drained:${node}`;

/** Returns the holder after the attempt (ARGV[1] if it won); nil if the claimer has no heartbeat. */
const CLAIM = script(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return holder end
if redis.call('EXISTS', 'cs:node:' .. ARGV[1]) == 0 then return false end
if holder and redis.call('EXISTS', 'cs:node:' .. holder) == 1 then return holder end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`);

/** The holder if its heartbeat is alive, else nil. */
const OWNER = script(`
local holder = redis.call('GET', KEYS[1])
if holder and redis.call('EXISTS', 'cs:node:' .. holder) == 1 then return holder end
return false`);

const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/**
 * For each owned room: 1 still ours, 2 was missing and is ours again (Redis lost it), 0 another
 * node's now.
 */
const VERIFY = script(`
local out = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] then out[i] = 1
  elseif not holder then redis.call('SET', key, ARGV[1]); out[i] = 2
  else out[i] = 0 end
end
return out`);

export type LostReason = 'self-fenced' | 'taken';

export interface NodeLeaseOptions {
  redis: Redis;
  /** Unique per process life, e.g. `${slot}-${boot}`. */
  id: string;
  ttlMs?: number;
  renewMs?: number;
  fenceAfterMs?: number;
  /** A room this node owned is no longer its own: stop writing it (the fence would refuse). */
  onLost?: (room: string, reason: LostReason) => void;
}

export interface NodeLease {
  readonly id: string;
  /** Whether this node may act as an owner now (renewed within fenceAfterMs). */
  alive(): boolean;
  /** Claims `room` if it is free or its holder is dead; resolves to the holder after the attempt. */
  claim(room: string): Promise<string | undefined>;
  /** The live owner of `room`, if any. */
  owner(room: string): Promise<string | undefined>;
  /** Rooms this node owns. */
  owned(): ReadonlySet<string>;
  /** Gives `room` up (graceful: the next claim needs no wait for a heartbeat to expire). */
  release(room: string): Promise<void>;
  /**
   * Claims nothing any more (a drain that gives its rooms up before it ends): `claim` answers
   * the live holder only, so a late call on this node cannot take a released room back.
   */
  retire(): void;
  /** Releases every room and the heartbeat, and stops. */
  drain(): Promise<void>;
  /** Stops renewing without releasing anything (a crash, to the others). */
  stop(): void;
}

export async function startNodeLease(options: NodeLeaseOptions): Promise<NodeLease> {
  const { redis, id } = options;
  const ttlMs = options.ttlMs ?? 5000;
  const renewMs = options.renewMs ?? 1000;
  const fenceAfterMs = options.fenceAfterMs ?? 4000;
  if (!(renewMs < fenceAfterMs && fenceAfterMs < ttlMs))
    throw new Error('lease timings need renewMs < fenceAfterMs < ttlMs');
  const owned = new Set<string>();
  let lastRenewed = Number.NEGATIVE_INFINITY; // when the last successful renewal was *sent*
  let renewing = false;
  let stopped = false;
  let retired = false;

  const alive = () => !stopped && performance.now() - lastRenewed <= fenceAfterMs;

  const lose = (room: string, reason: LostReason) => {
    if (!owned.delete(room)) return;
    options.onLost?.(room, reason);
  };

  const selfFence = () => {
    for (const room of [...owned]) lose(room, 'self-fenced');
  };

  const renew = async () => {
    const sent = performance.now();
    await redis.set(heartbeatKey(id), '1', { expiration: { type: 'PX', value: ttlMs } });
    lastRenewed = sent;
  };

  const verify = async () => {
    const rooms = [...owned];
    if (rooms.length === 0) return;
    const results = (await VERIFY.run(redis, rooms.map(ownerKey), [id])) as number[];
    // A room released while VERIFY was on its way needs nothing: its RELEASE went after the
    // VERIFY on the same connection, so it ran after it and left the room free (redis.ts).
    rooms.forEach((room, i) => {
      if (results[i] === 0) lose(room, 'taken');
    });
  };

  /** The live holder of `room`, if any (claims nothing). */
  const holderOf = async (room: string): Promise<string | undefined> =>
    ((await OWNER.run(redis, [ownerKey(room)], [])) as string | null) ?? undefined;

  /** The renewal and verify under way, which `drain` waits for (a verify may still write). */
  let ticking: Promise<void> = Promise.resolve();
  const tick = () => {
    // Overdue: the heartbeat may have expired and another node taken over. Give up first,
    // renew after; rooms are claimed again from scratch.
    if (!alive()) selfFence();
    if (renewing || stopped) return;
    renewing = true;
    ticking = (async () => {
      try {
        await renew();
        await verify();
      } catch {
        // Redis away: alive() runs out after fenceAfterMs and the next tick self-fences.
      } finally {
        renewing = false;
      }
    })();
  };

  await renew();
  const timer = setInterval(tick, renewMs);
  timer.unref();

  return {
    id,
    alive,
    async claim(room) {
      if (retired) return holderOf(room);
      if (!alive()) {
        selfFence();
        return undefined;
      }
      const holder = (await CLAIM.run(redis, [ownerKey(room)], [id])) as string | null;
      // Claimed, but the answer came too late to be sure nobody took it after our heartbeat.
      if (holder === id && alive()) owned.add(room);
      return holder ?? undefined;
    },
    owner: holderOf,
    owned: () => owned,
    retire() {
      retired = true;
    },
    async release(room) {
      owned.delete(room);
      await RELEASE.run(redis, [ownerKey(room)], [id]);
    },
    async drain() {
      stopped = true;
      clearInterval(timer);
      await ticking; // a verify under way may still re-claim a room Redis lost
      const rooms = [...owned];
      owned.clear();
      for (const room of rooms) await RELEASE.run(redis, [ownerKey(room)], [id]);
      // Before the heartbeat goes: the other nodes do not take the drain for a death.
      await redis.set(drainedKey(id), '1', { expiration: { type: 'PX', value: 60_000 } });
      await redis.del(heartbeatKey(id));
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
