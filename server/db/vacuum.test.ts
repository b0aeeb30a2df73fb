/**
 * The embedded PGlite has no autovacuum: the rows the projector rewrites every pass leave dead
 * tuples nothing reclaims unless the server vacuums (vacuum.ts).
 */
import { expect, it } from 'vitest';
import { privateKey } from '../../shared/keys.js';
import {
  id,
  postMessage,
  startTestServer,
  syncPeer,
  tempDir,
  waitFor,
} from '../../test/helpers.js';
import { createLogger } from '../log.js';
import { openDatabase } from './connect.js';
import { migrate } from './migrate.js';
import { startVacuum } from './vacuum.js';

it('reclaims the dead tuples the projector’s rewrites leave in PGlite', async () => {
  // Always PGlite, whatever DATABASE_URL says: a real Postgres vacuums itself.
  const db = await openDatabase({ dataDir: await tempDir(), log: createLogger('silent') });
  const vacuum = startVacuum(db.sql, { everyMs: 3_600_000, log: createLogger('silent') });
  try {
    expect(db.kind).toBe('pglite');
    await migrate(db.sql);
    await db.sql`INSERT INTO t_projection_cursor (doc_name, state_vector, projected_at)
                 VALUES ('group_x', '\\x00', 0)`;
    // A cursor rewritten as every projection pass does.
    for (let i = 1; i <= 200; i++)
      await db.sql`UPDATE t_projection_cursor SET projected_at = ${i} WHERE doc_name = 'group_x'`;
    const dead = async () => {
      // Statistics reach the views at a later commit: this makes it the next one.
      await db.sql`SELECT pg_stat_force_next_flush()`;
      return Number(
        (
          await db.sql<{ n: string }[]>`
            SELECT n_dead_tup AS n FROM pg_stat_user_tables WHERE relname = 't_projection_cursor'`
        )[0]!.n,
      );
    };
    expect(await dead()).toBeGreaterThan(0);
    await vacuum.run();
    expect(await dead()).toBe(0);
    // The row itself is untouched.
    const [row] = await db.sql<{ projected_at: string }[]>`
      SELECT projected_at FROM t_projection_cursor WHERE doc_name = 'group_x'`;
    expect(Number(row!.projected_at)).toBe(200);
  } finally {
    await vacuum.stop();
    await db.close();
  }
}, 60_000);

it('the server vacuums its embedded PGlite every PGLITE_VACUUM_MS', async () => {
  const ts = await startTestServer({
    env: { SNAPSHOTS: 'on', PROJECTOR_DEBOUNCE_MS: '10', PGLITE_VACUUM_MS: '300' },
  });
  try {
    const sql = ts.server.db!.sql;
    const key = privateKey(id('alice'), id('bob'));
    const alice = await syncPeer(ts, key, 'alice');
    // Several projection passes, each rewriting the conversation's row and the cursor.
    for (let i = 0; i < 5; i++) {
      postMessage(alice, 'alice', { content: `m${i}` });
      await ts.server.projector!.flush();
    }
    alice.close();
    const dead = async () => {
      await sql`SELECT pg_stat_force_next_flush()`;
      const rows = await sql<{ n: string }[]>`
        SELECT sum(n_dead_tup) AS n FROM pg_stat_user_tables
        WHERE relname IN ('t_conversation', 't_projection_cursor')`;
      return Number(rows[0]!.n);
    };
    await waitFor(async () => (await dead()) === 0, 10_000, 'the dead rows vacuumed');
  } finally {
    await ts.close();
  }
}, 60_000);
