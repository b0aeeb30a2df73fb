/**
 * @module Presence across nodes (the PresenceRegistry of ../presence.ts, in Redis): each node
 * counts its own sockets per identity in `cs:pres:{node}` (HINCRBY), and a lookup sums the
 * counts of the nodes whose heartbeat (`cs:node:{node}`, lease.ts) is alive. A crashed node's
 * identities go offline when its heartbeat expires: the first lookup after that records them as
 * last seen then and drops its hash. Last-seen times live in `cs:seen:{identity}` for 30 days.
 *
 * The node's own counts stay in memory too, as the truth its hash mirrors: a write that failed
 * (Redis away) or a hash that vanished (FLUSHALL, a Redis restart) is rewritten from them on the
 * next sync. Times come from Redis (`TIME`), one clock for every node.
 */
import type { IdentityId } from '../../shared/ids.js';
import type { PresenceEntry } from '../../shared/presence.js';
import type { PresenceRegistry } from '../presence.js';
import { type Redis, script } from './redis.js';

const SEEN_TTL_MS = 30 * 24 * 3_600_000;
/** Identities per lookup script call (Lua's unpack has a stack limit of a few thousand). */
const LOOKUP_BATCH = 1000;

const presKey = (node: string) => `cs:pres:${node}`;
const NODES = 'cs:pres:nodes';

/** ARGV: node, identity, delta, seen ttl. The count after the change. */
const CHANGE = script(`
local key = 'cs:pres:' .. ARGV[1]
redis.call('SADD', '${NODES}', ARGV[1])
local n = redis.call('HINCRBY', key, ARGV[2], ARGV[3])
if n <= 0 then
  redis.call('HDEL', key, ARGV[2])
  local t = redis.call('TIME')
  redis.call('SET', 'cs:seen:' .. ARGV[2], t[1] * 1000 + math.floor(t[2] / 1000), 'PX', ARGV[4])
end
return n`);

/**
 * ARGV: seen ttl, then identities. Returns the server time, then per identity 'on' (online),
 * a last-seen time, or '' (never seen).
 */
const LOOKUP = script(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ids = {}
for i = 2, #ARGV do ids[i - 1] = ARGV[i] end
local counts = {}
for i = 1, #ids do counts[i] = 0 end
for _, node in ipairs(redis.call('SMEMBERS', '${NODES}')) do
  local key = 'cs:pres:' .. node
  if redis.call('EXISTS', 'cs:node:' .. node) == 1 then
    local values = redis.call('HMGET', key, unpack(ids))
    for i, v in ipairs(values) do
      if v then counts[i] = counts[i] + tonumber(v) end
    end
  else
    -- A dead node: its identities were last seen now (its heartbeat just expired, at most).
    for _, id in ipairs(redis.call('HKEYS', key)) do
      redis.call('SET', 'cs:seen:' .. id, now, 'PX', ARGV[1])
    end
    redis.call('DEL', key)
    redis.call('SREM', '${NODES}', node)
  end
end
local out = { tostring(now) }
for i, id in ipairs(ids) do
  if counts[i] > 0 then out[i + 1] = 'on'
  else out[i + 1] = redis.call('GET', 'cs:seen:' .. id) or '' end
end
return out`);

export interface RedisPresenceOptions {
  redis: Redis;
  /** This node's lease id: its heartbeat says whether its counts still count. */
  node: string;
  /** How often the node's hash is checked and rewritten if needed (default 2 s). */
  syncMs?: number;
  onError?: (error: unknown) => void;
}

export interface ClusterPresence extends PresenceRegistry {
  /** Rewrites this node's hash from its own counts if a write failed or the hash is gone. */
  sync(): Promise<void>;
  /** Stops syncing and removes this node's counts (a drain: its identities go offline). */
  close(): Promise<void>;
}

export function redisPresence(options: RedisPresenceOptions): ClusterPresence {
  const { redis, node } = options;
  const counts = new Map<IdentityId, number>();
  let dirty = false;
  let syncing = false;

  const change = (identity: IdentityId, delta: 1 | -1) => {
    CHANGE.run(redis, [], [node, identity, delta, SEEN_TTL_MS]).catch((error: unknown) => {
      dirty = true;
      options.onError?.(error);
    });
  };

  const sync = async () => {
    if (syncing) return;
    syncing = true;
    try {
      if (!dirty && (counts.size === 0 || (await redis.exists(presKey(node))) === 1)) return;
      dirty = false;
      // One transaction on the same connection as the HINCRBYs: those sent before it are
      // overwritten by counts that already include them, those sent after it apply after.
      const multi = redis.multi().del(presKey(node)).sAdd(NODES, node);
      if (counts.size > 0) multi.hSet(presKey(node), Object.fromEntries(counts));
      await multi.exec();
    } catch (error) {
      dirty = true;
      options.onError?.(error);
    } finally {
      syncing = false;
    }
  };
  const timer = setInterval(() => void sync(), options.syncMs ?? 2000);
  timer.unref();

  return {
    connected(identity) {
      counts.set(identity, (counts.get(identity) ?? 0) + 1);
      change(identity, 1);
    },
    disconnected(identity) {
      const n = counts.get(identity);
      if (!n) return; // one too many: ignored, as memoryPresence does
      if (n === 1) counts.delete(identity);
      else counts.set(identity, n - 1);
      change(identity, -1);
    },
    async lookup(identities) {
      const entries: PresenceEntry[] = [];
      for (let at = 0; at < identities.length; at += LOOKUP_BATCH) {
        const batch = identities.slice(at, at + LOOKUP_BATCH);
        try {
          const [now, ...states] = (await LOOKUP.run(
            redis,
            [],
            [SEEN_TTL_MS, ...batch],
          )) as string[];
          batch.forEach((identity, i) => {
            const state = states[i]!;
            entries.push(
              state === 'on'
                ? { identity, online: true, lastSeenAt: Number(now) }
                : { identity, online: false, lastSeenAt: state === '' ? null : Number(state) },
            );
          });
        } catch (error) {
          // Redis away: what this node knows (its own sockets).
          options.onError?.(error);
          for (const identity of batch) {
            const online = (counts.get(identity) ?? 0) > 0;
            entries.push({ identity, online, lastSeenAt: online ? Date.now() : null });
          }
        }
      }
      return entries;
    },
    sync,
    async close() {
      clearInterval(timer);
      const held = [...counts];
      counts.clear();
      // This node's sockets leave: an identity with none elsewhere goes offline, last seen now.
      for (const [identity, n] of held)
        await CHANGE.run(redis, [], [node, identity, -n, SEEN_TTL_MS]);
    },
  };
}
