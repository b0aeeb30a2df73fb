/**
 * @module VACUUM for the embedded PGlite. PGlite runs Postgres in single-user mode, where no
 * autovacuum worker exists, and the projector rewrites the same rows on every pass (each active
 * conversation's row, its members' unread counts, the cursors): every rewrite leaves a dead
 * tuple and, where an indexed column changed (`last_active_time`), dead index entries, which
 * nothing would ever reclaim. Measured in PGlite: 50 conversation rows upserted 8,000 times
 * (about an hour of a busy server's passes) took `t_conversation` from nothing to 11 MB of heap
 * and 3 MB of index, 394,000 dead tuples; growth without bound on a long-running server. One
 * `VACUUM` took 76 ms and let the heap's space be reused from then on. With DATABASE_URL the
 * server's own autovacuum does this and none of it runs.
 */

import type { Logger } from '../log.js';
import type { Sql } from './connect.js';

export interface Vacuum {
  /** Runs one VACUUM (ANALYZE) now (tests; the timer's own runs never overlap one). */
  run(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * VACUUM (ANALYZE) of the whole database every `everyMs`. It visits only the pages changed since
 * the last one (the visibility map), and it shares PGlite's one connection with the projector,
 * so a pass waits for it (tens of milliseconds) rather than running beside it.
 */
export function startVacuum(sql: Sql, options: { everyMs: number; log: Logger }): Vacuum {
  let running: Promise<void> | undefined;
  const run = (): Promise<void> => {
    running ??= (async () => {
      const start = performance.now();
      try {
        await sql.unsafe('VACUUM (ANALYZE)');
        options.log.debug('vacuumed the embedded database', {
          ms: Math.round(performance.now() - start),
        });
      } catch (error) {
        // The next run tries again; the database being away is the projector's to report.
        options.log.warn('vacuum of the embedded database failed', { error });
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void run(), options.everyMs);
  timer.unref();
  return {
    run,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
