import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasEnv, needs } from '../../test/cluster-env.js';
import { openTestDatabase } from '../../test/db.js';
import type { Database } from '../db/connect.js';
import { migrate } from '../db/migrate.js';
import { leasedIdGenerator, leaseNodeSlot } from './node-slot.js';

const FAST = { ttlMs: 1500, renewMs: 200, fenceAfterMs: 1200 };

describe.skipIf(!hasEnv('DATABASE_URL'))(`node slots${needs('DATABASE_URL')}`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
    await migrate(db.sql);
  });
  afterAll(async () => {
    await db.close();
  });

  it('gives nodes starting at once distinct slots, the preferred one when it is free', async () => {
    const slots = await Promise.all(
      Array.from({ length: 16 }, () => leaseNodeSlot({ sql: db.sql, prefer: 7, ...FAST })),
    );
    const numbers = slots.map((s) => s.slot);
    expect(new Set(numbers).size).toBe(16);
    expect(numbers).toContain(7);
    for (const s of slots) await s.release();
    const again = await leaseNodeSlot({ sql: db.sql, prefer: 7, ...FAST });
    expect(again.slot).toBe(7);
    await again.release();
  });

  it('hands a lapsed slot on; the next holder issues ids above the last ones, and the old one refuses', async () => {
    const lost: string[] = [];
    const a = await leaseNodeSlot({
      sql: db.sql,
      prefer: 9,
      ...FAST,
      onLost: () => lost.push('a'),
    });
    expect(a.slot).toBe(9);
    const clock = 1_800_000_000_000;
    const ids = await leasedIdGenerator(a, () => clock);
    const issued = Array.from({ length: 100 }, () => BigInt(ids.next()));
    a.stop(); // no renewal, nothing released: a crash or a pause, to the others
    // While it lasts the slot is not given out.
    const other = await leaseNodeSlot({ sql: db.sql, prefer: 9, ...FAST });
    expect(other.slot).not.toBe(9);
    await other.release();
    await new Promise((r) => setTimeout(r, FAST.ttlMs + 100));
    const b = await leaseNodeSlot({ sql: db.sql, prefer: 9, ...FAST });
    expect(b.slot).toBe(9);
    // b's clock is an hour behind: its ids still start after a's reservation.
    const next = await leasedIdGenerator(b, () => clock - 3_600_000);
    const first = BigInt(next.next());
    expect(issued.every((id) => first > id)).toBe(true);
    // a (resumed) may not issue another id under slot 9.
    expect(a.held()).toBe(false);
    expect(() => ids.next()).toThrow(expect.objectContaining({ code: 'FENCED' }));
    await expect(
      a.reservations.setMeta('id-reserved-until', clock + 120_000),
    ).rejects.toMatchObject({ code: 'FENCED' });
    expect(lost).toEqual(['a']);
    await b.release();
  });
});
