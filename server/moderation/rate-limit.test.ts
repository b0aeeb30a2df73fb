import { describe, expect, it } from 'vitest';
import { parseRate, RateLimiter } from './rate-limit.js';

/** A clock the test moves by hand: the limiter's arithmetic, not the machine's speed. */
function clock() {
  let t = 1_000_000;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('rate limits', () => {
  it('allows a burst, then one message per refill interval, and says how long to wait', () => {
    const time = clock();
    const limiter = new RateLimiter({ identity: { count: 5, windowMs: 1000 } }, time.now);
    for (let i = 0; i < 5; i++) expect(limiter.take('alice', 'c', 1)).toEqual({ ok: true });
    expect(limiter.take('alice', 'c', 1)).toEqual({
      ok: false,
      scope: 'identity',
      retryInMs: 200,
    });
    time.advance(199);
    expect(limiter.take('alice', 'c', 1).ok).toBe(false);
    time.advance(1);
    expect(limiter.take('alice', 'c', 1).ok).toBe(true);
  });

  it('lets a batch larger than the bucket through when it is full, then throttles the debt', () => {
    const time = clock();
    const limiter = new RateLimiter({ identity: { count: 10, windowMs: 1000 } }, time.now);
    expect(limiter.take('alice', 'c', 200).ok).toBe(true);
    // 190 messages of debt at 10 per second: the next one waits 19.1 s.
    expect(limiter.take('alice', 'c', 1)).toEqual({
      ok: false,
      scope: 'identity',
      retryInMs: 19_100,
    });
    time.advance(19_100);
    expect(limiter.take('alice', 'c', 1).ok).toBe(true);
    // A batch larger than the bucket needs a full bucket, not the whole batch.
    expect(limiter.take('alice', 'c', 50)).toEqual({
      ok: false,
      scope: 'identity',
      retryInMs: 1000,
    });
  });

  it('keeps identities apart, and a refused take charges neither bucket', () => {
    const time = clock();
    const limiter = new RateLimiter(
      { identity: { count: 2, windowMs: 1000 }, conversation: { count: 3, windowMs: 1000 } },
      time.now,
    );
    expect(limiter.take('alice', 'c', 2).ok).toBe(true);
    for (let i = 0; i < 10; i++) expect(limiter.take('alice', 'c', 1).ok).toBe(false);
    // Alice's refused attempts took nothing from the conversation: bob still has its last token.
    expect(limiter.take('bob', 'c', 1).ok).toBe(true);
    expect(limiter.take('bob', 'c', 1)).toMatchObject({ ok: false, scope: 'conversation' });
    expect(limiter.take('bob', 'other', 1).ok).toBe(true);
  });

  it('charges a whole batch to the conversation too: its long-run rate stays within the limit', () => {
    const time = clock();
    const limiter = new RateLimiter(
      { identity: { count: 10, windowMs: 1000 }, conversation: { count: 20, windowMs: 1000 } },
      time.now,
    );
    expect(limiter.take('alice', 'c', 500).ok).toBe(true);
    // 480 messages of debt at 20 per second: 24 s before anyone posts one more here.
    expect(limiter.take('bob', 'c', 1)).toEqual({
      ok: false,
      scope: 'conversation',
      retryInMs: 24_050,
    });
    time.advance(24_050);
    expect(limiter.take('bob', 'c', 1).ok).toBe(true);
    expect(limiter.take('bob', 'other', 1).ok).toBe(true);
  });

  it('limits other writes per identity, apart from messages', () => {
    const time = clock();
    const limiter = new RateLimiter(
      { identity: { count: 10, windowMs: 1000 }, writes: { count: 3, windowMs: 1000 } },
      time.now,
    );
    expect(limiter.take('alice', 'c', 0, 3).ok).toBe(true);
    expect(limiter.take('alice', 'd', 0, 1)).toEqual({
      ok: false,
      scope: 'writes',
      retryInMs: 334,
    });
    expect(limiter.take('alice', 'c', 1, 0).ok).toBe(true);
    expect(limiter.take('bob', 'c', 0, 1).ok).toBe(true);
    time.advance(334);
    expect(limiter.take('alice', 'd', 0, 1).ok).toBe(true);
  });

  it('counts nothing for zero messages and holds no buckets once they are full again', () => {
    const time = clock();
    const limiter = new RateLimiter({ identity: { count: 1, windowMs: 1000 } }, time.now);
    expect(limiter.take('alice', 'c', 0).ok).toBe(true);
    expect(limiter.size).toBe(0);
    for (let i = 0; i < 1023; i++) limiter.take(`user${i}`, 'c', 1);
    expect(limiter.size).toBe(1023);
    time.advance(1000);
    limiter.take('last', 'c', 1); // the 1024th take sweeps
    expect(limiter.size).toBeLessThanOrEqual(1);
  });

  it('parses count/window and off, and names the variable in a bad value', () => {
    expect(parseRate('30/10s', 'X')).toEqual({ count: 30, windowMs: 10_000 });
    expect(parseRate('5/500ms', 'X')).toEqual({ count: 5, windowMs: 500 });
    expect(parseRate('600/1h', 'X')).toEqual({ count: 600, windowMs: 3_600_000 });
    expect(parseRate('off', 'X')).toBeUndefined();
    for (const bad of ['30', '0/1s', '3/0s', 'ten/1s', '5/1d', ''])
      expect(() => parseRate(bad, 'RATE_LIMIT_IDENTITY')).toThrow(/RATE_LIMIT_IDENTITY/);
  });
});
