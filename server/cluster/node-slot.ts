/**
 * @module Message-id node slots leased in Postgres (`node_slot`, db/migrations/005_cluster.sql),
 * so two nodes never share the 10 node bits of a message id. A clash would be silent:
 * `t_msg_body` upserts on `message_id`, so one message would overwrite another.
 *
 * - A node claims one free or expired slot (its configured NODE_ID first, then never-used slots,
 *   then the longest expired) in one upsert whose conflict branch re-checks that the slot is
 *   still free, timed by the database's clock so the nodes' clocks do not matter.
 * - It renews every `renewMs`; a renewal that finds the slot under another holder, or no
 *   renewal for `fenceAfterMs` (well before `ttlMs` lets anyone else claim it), makes `held()`
 *   false and the generator's guard throw FENCED: no id is issued under a slot that may be
 *   another node's.
 * - The slot carries its id reservation (`reserved_until`, see message-ids.ts): the next holder
 *   starts after the ids the previous one may have issued, whatever the clocks say. Writing it
 *   is fenced by the holder too.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ConvosyncError } from '../../shared/errors.js';
import type { Sql } from '../db/connect.js';
import { createIdGenerator, type IdGenerator, type IdReservations } from '../message-ids.js';

export interface NodeSlotOptions {
  sql: Sql;
  /** The slot to take if it is free (NODE_ID); any other free slot otherwise. */
  prefer?: number;
  ttlMs?: number;
  renewMs?: number;
  fenceAfterMs?: number;
  /** The slot is no longer this node's (taken after a lapse): stop issuing ids. */
  onLost?: () => void;
}

export interface NodeSlot {
  readonly slot: number;
  /** Unique per process life: who holds the slot in `node_slot.holder`. */
  readonly holder: string;
  held(): boolean;
  /** Throws FENCED unless `held()`. */
  assertHeld(): void;
  /** The id reservation, kept in the slot's row and fenced by the lease. */
  readonly reservations: IdReservations;
  /** Frees the slot (its reservation stays for the next holder). */
  release(): Promise<void>;
  /** Stops renewing, keeping the row as it is (a crash, to the others). */
  stop(): void;
}

export async function leaseNodeSlot(options: NodeSlotOptions): Promise<NodeSlot> {
  const { sql } = options;
  const ttlMs = options.ttlMs ?? 30_000;
  const renewMs = options.renewMs ?? 5_000;
  const fenceAfterMs = options.fenceAfterMs ?? 20_000;
  if (!(renewMs < fenceAfterMs && fenceAfterMs < ttlMs))
    throw new Error('slot timings need renewMs < fenceAfterMs < ttlMs');
  const holder = `${os.hostname()}:${process.pid}:${randomUUID()}`;
  const prefer = options.prefer ?? -1;

  const claim = () => sql<{ slot: number }[]>`
    WITH candidate AS (
      SELECT s AS slot FROM generate_series(0, 1023) s LEFT JOIN node_slot n ON n.slot = s
      WHERE n.slot IS NULL OR n.holder IS NULL OR n.expires_at < clock_timestamp()
      ORDER BY (s = ${prefer}) DESC, n.expires_at NULLS FIRST, s
      LIMIT 1)
    INSERT INTO node_slot (slot, holder, expires_at)
    SELECT slot, ${holder}, clock_timestamp() + ${ttlMs}::int * interval '1 millisecond'
    FROM candidate
    ON CONFLICT (slot) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
    WHERE node_slot.holder IS NULL OR node_slot.expires_at < clock_timestamp()
    RETURNING slot`;
  let sent = 0;
  let row: { slot: number } | undefined;
  // A node claiming the same slot at the same moment wins it (the conflict's WHERE is checked
  // against its committed claim): take the next one.
  for (let attempt = 0; attempt < 64 && !row; attempt++) {
    sent = performance.now();
    [row] = await claim();
  }
  if (!row) throw new ConvosyncError('STORAGE_UNAVAILABLE', 'no free node slot (1024 in use)');
  const slot = row.slot;
  let lastRenewed = sent;
  let lost = false;
  let stopped = false;
  let renewing = false;

  const held = () => !lost && !stopped && performance.now() - lastRenewed <= fenceAfterMs;
  const lose = () => {
    if (lost) return;
    lost = true;
    clearInterval(timer);
    options.onLost?.();
  };

  const renew = async () => {
    if (renewing || stopped || lost) return;
    renewing = true;
    const at = performance.now();
    try {
      const rows = await sql`
        UPDATE node_slot SET expires_at = clock_timestamp() + ${ttlMs}::int * interval '1 millisecond'
        WHERE slot = ${slot} AND holder = ${holder} RETURNING slot`;
      if (rows.length === 0) lose();
      else if (at - lastRenewed > fenceAfterMs)
        lose(); // renewed too late: ids may have clashed
      else lastRenewed = at;
    } catch {
      // The database is away: held() runs out after fenceAfterMs.
    } finally {
      renewing = false;
    }
  };
  const timer = setInterval(() => void renew(), renewMs);
  timer.unref();

  const assertHeld = () => {
    if (!held()) throw new ConvosyncError('FENCED', `node slot ${slot} is no longer held`);
  };

  return {
    slot,
    holder,
    held,
    assertHeld,
    reservations: {
      // The generator's one key (its reservation); the slot row has room for nothing else.
      async getMeta() {
        const [r] = await sql<{ reserved_until: string }[]>`
          SELECT reserved_until FROM node_slot WHERE slot = ${slot}`;
        return Number(r?.reserved_until ?? 0);
      },
      async setMeta(_key, value) {
        const rows = await sql`
          UPDATE node_slot SET reserved_until = GREATEST(reserved_until, ${Number(value)})
          WHERE slot = ${slot} AND holder = ${holder} RETURNING slot`;
        if (rows.length === 0) {
          lose();
          assertHeld();
        }
      },
    },
    async release() {
      stopped = true;
      clearInterval(timer);
      await sql`UPDATE node_slot SET holder = NULL, expires_at = NULL
                WHERE slot = ${slot} AND holder = ${holder}`;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** The message-id generator of a node whose id is `slot`'s: it refuses ids once the slot lapses. */
export function leasedIdGenerator(slot: NodeSlot, now?: () => number): Promise<IdGenerator> {
  return createIdGenerator(slot.reservations, slot.slot, now, { guard: slot.assertHeld });
}
