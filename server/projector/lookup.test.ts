/**
 * How long a lookup by BIGINT id that missed keeps asking in cluster mode (Projector.lookup):
 * the other nodes' projectors have at most `waitMs` to put a message in the tables, counted
 * from when its id was issued, so a miss on an older id is final at once instead of costing
 * every 404 the whole wait.
 */
import { describe, expect, it } from 'vitest';
import { createIdGenerator } from '../message-ids.js';
import { memoryStore } from '../store/memory.js';
import { CLOCK_SKEW_MS, lookupDeadline, projectedChannel } from './projector.js';

const NOW = 1_800_000_000_000;
const WAIT = 1_500;

async function idIssuedAt(ms: number): Promise<string> {
  return (await createIdGenerator(memoryStore(), 3, () => ms)).next();
}

describe('lookupDeadline', () => {
  it('waits the whole window for an id issued just now', async () => {
    expect(lookupDeadline(NOW, WAIT, await idIssuedAt(NOW))).toBe(NOW + WAIT);
  });

  it('waits only what is left of the window for an id issued a moment ago', async () => {
    const id = await idIssuedAt(NOW - WAIT - 1_000);
    expect(lookupDeadline(NOW, WAIT, id)).toBe(NOW + CLOCK_SKEW_MS - 1_000);
  });

  it('does not wait for an id issued longer ago than the window and the clocks’ skew', async () => {
    const id = await idIssuedAt(NOW - WAIT - CLOCK_SKEW_MS - 1);
    expect(lookupDeadline(NOW, WAIT, id)).toBeLessThan(NOW);
    expect(lookupDeadline(NOW, WAIT, await idIssuedAt(NOW - 86_400_000))).toBeLessThan(NOW);
  });

  it('waits the whole window for an id from the future or of no known layout', async () => {
    // A node whose clock stepped back issues ids ahead of the wall clock (its reservation).
    expect(lookupDeadline(NOW, WAIT, await idIssuedAt(NOW + 30_000))).toBe(NOW + WAIT);
    expect(lookupDeadline(NOW, WAIT, '42')).toBe(NOW + WAIT);
    expect(lookupDeadline(NOW, WAIT)).toBe(NOW + WAIT);
  });
});

describe('projectedChannel', () => {
  it('names one channel per schema, never past the 63 bytes pg_notify accepts', () => {
    const long = 's'.repeat(63); // the longest schema name Postgres has
    expect(Buffer.byteLength(projectedChannel(long))).toBeLessThanOrEqual(63);
    expect(projectedChannel('a')).not.toBe(projectedChannel('b'));
    expect(projectedChannel(undefined)).toBe('convosync_projected');
  });
});
