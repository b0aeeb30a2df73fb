import { describe, expect, it } from 'vitest';
import { connectRedis } from './redis.js';

describe('Redis connection', () => {
  it('says so at start-up when Redis cannot be reached, instead of retrying forever', async () => {
    const errors: Error[] = [];
    // Port 1 on loopback: nothing listens there.
    const error = await connectRedis('redis://127.0.0.1:1', {
      firstConnectMs: 300,
      onError: (e) => errors.push(e),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(errors.length).toBeGreaterThan(0);
  });
});
