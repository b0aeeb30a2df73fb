/**
 * The embedded PGlite runs beside the event loop that serves the sockets, not on it: while a
 * long statement runs, this thread keeps turning (a 1 ms timer chain keeps ticking). On the
 * event loop, PGlite's WebAssembly would hold it for the whole statement. (With DATABASE_URL
 * this runs against the real Postgres, where the same holds.)
 */
import { expect, it } from 'vitest';
import { openTestDatabase } from '../../test/db.js';

it('runs SQL off the event loop: this thread keeps turning while a long statement runs', async () => {
  const db = await openTestDatabase();
  try {
    await db.sql`SELECT 1`;
    let done = false;
    let ticks = 0;
    const tick = () => {
      if (done) return;
      ticks += 1;
      setTimeout(tick, 1);
    };
    const statement = db.sql`SELECT count(*) FROM generate_series(1, 3000000)`.then(() => {
      done = true;
    });
    setTimeout(tick, 1);
    await statement;
    // Hundreds when PGlite has a thread of its own; one or two when it blocks this one.
    expect(ticks).toBeGreaterThan(20);
  } finally {
    await db.close();
  }
}, 120_000);
