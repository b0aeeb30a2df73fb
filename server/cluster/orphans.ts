/**
 * @module The projection of orphans in cluster mode: a conversation whose owner died between an
 * append and that append's projection, and which nobody has opened since (a node that does open
 * it projects it on load: server.ts). Every `intervalMs` each node asks the database for
 * documents whose last append settled (older than `settleMs`, so a live owner had time to
 * project it) but is newer than their last projection, claims those nobody owns, and projects
 * them; a document another node owns is that node's to project.
 *
 * The log's rows carry the database's time of insert (migration 006) and the cursor the
 * projector's (`projected_at`), so the comparison assumes clocks within `settleMs` of each other
 * (NTP), as the relay's call deadline does.
 */
import { tryParseKey } from '../../shared/keys.js';
import type { Sql } from '../db/connect.js';
import type { Logger } from '../log.js';
import type { NodeLease } from './lease.js';
import { ownerOf } from './placement.js';

export interface OrphanSweepDeps {
  sql: Sql;
  lease: NodeLease;
  /** Projects `key` soon (Projector.notify; the projector borrows only what this node owns). */
  project(key: string): void;
  log: Logger;
  intervalMs: number;
  settleMs: number;
}

/** Documents looked at per sweep, at most (the rest wait for the next one). */
const BATCH = 500;

export class OrphanSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(private readonly deps: OrphanSweepDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      void this.sweep().catch((error) =>
        this.deps.log.warn('orphan projection sweep failed', { error }),
      );
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops sweeping; resolves once a sweep under way has ended, so a shutdown closes the lease,
   * the projector and the database after it, not under it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One sweep now; resolves with how many documents it took to project. One at a time. */
  sweep(settleMs = this.deps.settleMs): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    this.running ??= this.pass(settleMs).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(settleMs: number): Promise<number> {
    const { sql, lease } = this.deps;
    const stale = await sql<{ doc: string }[]>`
      WITH last AS (
        SELECT doc, max(at) AS at FROM doc_log GROUP BY doc
        UNION ALL
        SELECT doc, to_timestamp(updated_at / 1000.0) FROM doc_snapshot
      ), settled AS (
        SELECT doc, max(at) AS at FROM last GROUP BY doc
        HAVING max(at) < now() - make_interval(secs => ${settleMs / 1000})
      )
      SELECT s.doc FROM settled s
      LEFT JOIN t_projection_cursor c ON c.doc_name = s.doc
      WHERE c.doc_name IS NULL OR to_timestamp(c.projected_at / 1000.0) < s.at
      LIMIT ${BATCH}`;
    let taken = 0;
    for (const { doc } of stale) {
      if (this.stopped) break; // a shutdown claims nothing more
      const parsed = tryParseKey(doc); // conversations only (inboxes are not projected)
      if (!parsed) continue;
      const owner = await ownerOf(lease, parsed.key).catch(() => undefined);
      if (owner !== lease.id) continue;
      this.deps.project(doc);
      taken += 1;
    }
    if (taken > 0) this.deps.log.info('projecting orphaned documents', { documents: taken });
    return taken;
  }
}
