/**
 * @module The rate-limit seam as a shared limiter needs it: asynchronous, because the identity
 * buckets of a cluster live in Redis (cluster/rate-limit.ts). The single-node RateLimiter
 * (rate-limit.ts) answers synchronously and is used directly by moderation.ts today; `local`
 * wraps it in this shape, unchanged, so both sit behind one interface once `admit` is async
 * (the relay step, ../shared/notes/scale-out.md).
 */
import type { Admission, RateLimiter } from './rate-limit.js';

export interface RateLimit {
  /** As RateLimiter.take: charges every bucket or none, and says when to retry. */
  take(identity: string, conversation: string, n: number, writes?: number): Promise<Admission>;
}

export function local(limiter: RateLimiter): RateLimit {
  return {
    take: async (identity, conversation, n, writes) =>
      limiter.take(identity, conversation, n, writes),
  };
}
