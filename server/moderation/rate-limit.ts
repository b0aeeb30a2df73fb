/**
 * @module Rate limits: token buckets per identity and per conversation for new messages, and per
 * identity for every other write (read marks, profiles, membership, recalls, settings). One
 * limiter serves the sync path and REST alike, so a client cannot get around it by switching
 * paths.
 *
 * A bucket holds up to `count` tokens and regains `count` every `windowMs`. A batch of n
 * messages needs min(n, count) tokens: an offline batch larger than the whole bucket still goes
 * through when the bucket is full. It is charged in full, though: it leaves both buckets in
 * debt, which throttles what follows, so neither an identity's nor a conversation's long-run
 * rate ever exceeds its limit (one update carrying 5,000 messages used to pass a 1,000-per-10 s
 * conversation limit because that bucket stopped at zero).
 */

export interface Rate {
  /** Messages allowed at once (bucket capacity), and regained per window. */
  count: number;
  windowMs: number;
}

export interface RateLimits {
  identity?: Rate;
  conversation?: Rate;
  /** Writes other than new messages, per identity. */
  writes?: Rate;
}

export type Admission =
  | { ok: true }
  | { ok: false; scope: 'identity' | 'conversation' | 'writes'; retryInMs: number };

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
  private readonly writers = new Map<string, Bucket>();
  private takes = 0;

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number,
  ) {}

  /**
   * Takes `n` new messages from the message buckets and `writes` other writes from the identity's
   * write bucket, or nothing (and says when to retry) if any of them is short.
   */
  take(identity: string, conversation: string, n: number, writes = 0): Admission {
    if (n <= 0 && writes <= 0) return { ok: true };
    const now = this.now();
    if (++this.takes % 1024 === 0) this.sweep(now);
    const charges: Array<[Bucket, number]> = [];
    const scopes = [
      ['identity', this.identities, identity, this.limits.identity, n],
      ['conversation', this.conversations, conversation, this.limits.conversation, n],
      ['writes', this.writers, identity, this.limits.writes, writes],
    ] as const;
    for (const [scope, buckets, key, rate, amount] of scopes) {
      if (!rate || amount <= 0) continue;
      const bucket = this.bucket(buckets, key, rate, now);
      const wait = waitMs(bucket, rate, amount);
      if (wait > 0) return { ok: false, scope, retryInMs: wait };
      charges.push([bucket, amount]);
    }
    for (const [bucket, amount] of charges) bucket.tokens -= amount;
    return { ok: true };
  }

  /** Buckets held in memory (a full bucket is dropped: it is the same as a new one). */
  get size(): number {
    return this.identities.size + this.conversations.size + this.writers.size;
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
      [this.writers, this.limits.writes],
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
