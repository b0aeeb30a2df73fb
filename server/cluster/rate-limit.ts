/**
 * @module Rate limits across nodes (the RateLimit seam of ../moderation/rate-limit-seam.ts):
 * an identity's message and write buckets live in Redis, so its limit holds whichever node owns
 * the conversations it writes to; the conversation bucket stays in the owner's memory, which is
 * exact with one writer per conversation.
 *
 * The Redis buckets follow the single-node formula (../moderation/rate-limit.ts) in one Lua
 * script: refill by elapsed time up to `count`, a batch of n needs min(n, count) tokens, is
 * charged n (debt), all buckets or none. Time is Redis `TIME`, one clock for every node. A bucket
 * key expires once it would be full again (a full bucket is the same as none).
 *
 * When Redis does not answer, the identity buckets fail open to local ones on this node: a limit
 * per node instead of per cluster for that while, never a refused user because Redis is away.
 */
import { type Admission, RateLimiter, type RateLimits } from '../moderation/rate-limit.js';
import type { RateLimit } from '../moderation/rate-limit-seam.js';
import { type Redis, script } from './redis.js';

/**
 * KEYS: buckets; ARGV per bucket: count, windowMs, amount. Returns 0 when charged, else
 * {index of the first short bucket, ms to wait}. REFUND (ARGV[1] < 0 amounts) is the same script.
 */
const TAKE = script(`
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local state = {}
for i, key in ipairs(KEYS) do
  local count, window, amount = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local b = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(b[1]), tonumber(b[2])
  if not tokens then
    tokens = count; at = now
  elseif now > at then
    tokens = math.min(count, tokens + (now - at) * count / window); at = now
  end
  if amount > 0 then
    local missing = math.min(amount, count) - tokens
    if missing > 1e-9 then return { i, math.max(1, math.ceil(missing * window / count)) } end
  end
  state[i] = { tokens, at }
end
for i, key in ipairs(KEYS) do
  local count, window, amount = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local tokens = math.min(count, state[i][1] - amount)
  redis.call('HSET', key, 'tokens', tokens, 'at', state[i][2])
  redis.call('PEXPIRE', key, math.ceil((count - tokens) * window / count) + 1000)
end
return 0`);

export interface RedisRateLimitOptions {
  redis: Redis;
  limits: RateLimits;
  /** The clock of the local buckets (the conversation's, and the fallback). */
  now: () => number;
  onError?: (error: unknown) => void;
}

export function redisRateLimit(options: RedisRateLimitOptions): RateLimit {
  const { redis, limits } = options;
  const conversations = new RateLimiter(
    limits.conversation ? { conversation: limits.conversation } : {},
    options.now,
  );
  const fallback = new RateLimiter(
    {
      ...(limits.identity ? { identity: limits.identity } : {}),
      ...(limits.writes ? { writes: limits.writes } : {}),
    },
    options.now,
  );

  /** The identity's buckets this take charges: [scope, key, count, windowMs, amount]. */
  const buckets = (identity: string, n: number, writes: number) => {
    const out: Array<{ scope: 'identity' | 'writes'; key: string; args: number[] }> = [];
    if (limits.identity && n > 0)
      out.push({
        scope: 'identity',
        key: `cs:rl:m:${identity}`,
        args: [limits.identity.count, limits.identity.windowMs, n],
      });
    if (limits.writes && writes > 0)
      out.push({
        scope: 'writes',
        key: `cs:rl:w:${identity}`,
        args: [limits.writes.count, limits.writes.windowMs, writes],
      });
    return out;
  };

  const shared = async (
    identity: string,
    n: number,
    writes: number,
    sign: 1 | -1,
  ): Promise<Admission> => {
    const list = buckets(identity, n, writes);
    if (list.length === 0) return { ok: true };
    const args = list.flatMap((b) => [b.args[0]!, b.args[1]!, sign * b.args[2]!]);
    const reply = (await TAKE.run(
      redis,
      list.map((b) => b.key),
      args,
    )) as number | [number, number];
    if (reply === 0) return { ok: true };
    const [index, wait] = reply as [number, number];
    return { ok: false, scope: list[index - 1]!.scope, retryInMs: wait };
  };

  return {
    async take(identity, conversation, n, writes = 0) {
      if (n <= 0 && writes <= 0) return { ok: true };
      let admission: Admission;
      try {
        admission = await shared(identity, n, writes, 1);
      } catch (error) {
        options.onError?.(error);
        admission = fallback.take(identity, conversation, n, writes);
      }
      if (!admission.ok) return admission;
      const own = conversations.take(identity, conversation, n);
      if (own.ok) return own;
      // Refused by the conversation: give the identity its tokens back (all or none charged).
      await shared(identity, n, writes, -1).catch((error: unknown) => options.onError?.(error));
      return own;
    },
  };
}
