/**
 * @module Message rate limits: token buckets per identity and per conversation, counting new
 * messages only (read marks, profiles and membership changes are free). One limiter serves the
 * sync path and REST alike, so a client cannot get around it by switching paths.
 *
 * A bucket holds up to `count` tokens and regains `count` every `windowMs`. A batch of n
 * messages needs min(n, count) tokens: an offline batch larger than the whole bucket still goes
 * through when the bucket is full. It then leaves the identity's bucket in debt, which throttles
 * what that identity sends next, so its long-run rate never exceeds the limit. The
 * conversation's bucket never goes below zero: one member's large offline batch must not
 * silence the others for long, and each member's own debt already bounds its rate.
 */

export interface Rate {
  /** Messages allowed at once (bucket capacity), and regained per window. */
  count: number;
  windowMs: number;
}

export interface RateLimits {
  identity?: Rate;
  conversation?: Rate;
}

export type Admission =
  | { ok: true }
  | { ok: false; scope: 'identity' | 'conversation'; retryInMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** Parses `30/10s` (30 messages per 10 seconds; units ms, s, m, h); `off` means no limit. */
export function parseRate(value: string, name: string): Rate | undefined {
  if (value === 'off') return undefined;
  const match = /^(\d+)\/(\d+)(ms|s|m|h)$/.exec(value);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const count = Number(match?.[1]);
  const windowMs = Number(match?.[2]) * unit[(match?.[3] ?? 's') as keyof typeof unit];
  if (!match || count < 1 || count > 1_000_000 || windowMs < 1 || windowMs > 86_400_000) {
    throw new Error(
      `${name} must look like 30/10s (count/window, units ms|s|m|h) or be off, not ${JSON.stringify(value)}`,
    );
  }
  return { count, windowMs };
}

export class RateLimiter {
  private readonly identities = new Map<string, Bucket>();
  private readonly conversations = new Map<string, Bucket>();
  private takes = 0;

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number,
  ) {}

  /** Takes `n` messages from both buckets, or none (and says when to retry) if either is short. */
  take(identity: string, conversation: string, n: number): Admission {
    if (n <= 0) return { ok: true };
    const now = this.now();
    if (++this.takes % 1024 === 0) this.sweep(now);
    const mine =
      this.limits.identity && this.bucket(this.identities, identity, this.limits.identity, now);
    const shared =
      this.limits.conversation &&
      this.bucket(this.conversations, conversation, this.limits.conversation, now);
    if (mine && this.limits.identity) {
      const wait = waitMs(mine, this.limits.identity, n);
      if (wait > 0) return { ok: false, scope: 'identity', retryInMs: wait };
    }
    if (shared && this.limits.conversation) {
      const wait = waitMs(shared, this.limits.conversation, n);
      if (wait > 0) return { ok: false, scope: 'conversation', retryInMs: wait };
    }
    if (mine) mine.tokens -= n;
    if (shared) shared.tokens = Math.max(0, shared.tokens - n);
    return { ok: true };
  }

  /** Buckets held in memory (a full bucket is dropped: it is the same as a new one). */
  get size(): number {
    return this.identities.size + this.conversations.size;
  }

  private bucket(buckets: Map<string, Bucket>, key: string, rate: Rate, now: number): Bucket {
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = { tokens: rate.count, at: now };
      buckets.set(key, bucket);
      return bucket;
    }
    refill(bucket, rate, now);
    return bucket;
  }

  private sweep(now: number): void {
    for (const [buckets, rate] of [
      [this.identities, this.limits.identity],
      [this.conversations, this.limits.conversation],
    ] as const) {
      if (!rate) continue;
      for (const [key, bucket] of buckets) {
        refill(bucket, rate, now);
        if (bucket.tokens >= rate.count) buckets.delete(key);
      }
    }
  }
}

function refill(bucket: Bucket, rate: Rate, now: number): void {
  if (now > bucket.at) {
    bucket.tokens = Math.min(
      rate.count,
      bucket.tokens + ((now - bucket.at) * rate.count) / rate.windowMs,
    );
    bucket.at = now;
  }
}

/** How long until `bucket` holds the min(n, count) tokens a batch of n needs; 0 if it does. */
function waitMs(bucket: Bucket, rate: Rate, n: number): number {
  const missing = Math.min(n, rate.count) - bucket.tokens;
  return missing <= 1e-9 ? 0 : Math.max(1, Math.ceil((missing * rate.windowMs) / rate.count));
}
