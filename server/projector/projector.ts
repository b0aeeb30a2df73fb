/**
 * @module The projector: keeps the snapshot tables true to the documents (invariant 5).
 *
 * After a document changes (the room's persisted hook), the projector waits a little to batch
 * (debounce, with a maximum delay), then projects that document: it diffs the document against
 * the state vector it projected last (the cursor), finds the keys that changed, builds their
 * rows synchronously from one consistent state, and writes rows, events and the new cursor in
 * one transaction. A crash, a `kill -9` or a database outage leaves the cursor where the last
 * committed projection put it, so the next run (or the start-up catch-up) re-projects exactly
 * what is missing; upserts and event keys make that idempotent. Projections run one at a time.
 */
import { createHash } from 'node:crypto';
import * as Y from 'yjs';
import { tryParseKey } from '../../shared/keys.js';
import type { Sql } from '../db/connect.js';
import type { Logger } from '../log.js';
import { type IdGenerator, issuedAt } from '../message-ids.js';
import { expiredMessageIds, retentionCutoff } from '../retention/expire.js';
import { dueAt } from '../schedule.js';
import { changedKeys } from './changed-keys.js';
import { DerivedCache, derivedRows } from './derived.js';
import { eventsFor } from './events.js';
import { conversationRow, memberRow, messageRow } from './rows.js';

export interface ProjectorDeps {
  sql: Sql;
  ids: IdGenerator;
  log: Logger;
  now: () => number;
  /**
   * The document of `key` (loaded if needed): `read` runs a synchronous function on it when it
   * holds only durable state; `release` when done. Undefined: not this projector's to project
   * (cluster mode: another node owns it and projects it; nothing is claimed to find out).
   */
  borrow(
    key: string,
  ): Promise<{ read<T>(f: (doc: Y.Doc) => T): Promise<T>; release(): void } | undefined>;
  /**
   * Cluster mode: several projectors may briefly project one document (while its ownership
   * moves), so each transaction locks the documents' cursors and leaves out a plan older than
   * what the cursor already holds (else an old owner's late pass could put older rows back).
   */
  guardCursors?: boolean;
  /**
   * Cluster mode: other nodes project the documents they own, at most this long after a change
   * (their max delay and a pass): a lookup that misses waits that long for them (`lookup`).
   */
  elsewhereMaxDelayMs?: number;
  /**
   * Cluster mode: the Postgres channel every node's projector notifies when a pass commits, and
   * that this node listens on (`projected`), so a lookup waiting for another node's pass asks
   * again when one committed instead of polling every 100 ms.
   */
  channel?: string;
  /**
   * With `channel`: how often a waiting lookup asks again anyway (default 1 s), should the
   * listening connection be broken; the notifications are the way it learns.
   */
  lookupPollMs?: number;
  debounceMs: number;
  maxDelayMs: number;
  /** Called after each successful projection (metrics). */
  onProjected?(key: string, lagMs: number): void;
  /** Called after each failed projection (metrics): `databaseDown` says whose fault it was. */
  onFailed?(key: string, databaseDown: boolean): void;
}

interface Dirty {
  /** When the oldest unprojected change happened. */
  since: number;
  due: number;
  /** Failed projections of this document in a row; it waits `retryAt` before the next one. */
  failures?: number;
  retryAt?: number;
}

/** Documents projected together in one transaction, at most. */
const BATCH_DOCUMENTS = 256;
/** How many documents a pass reads before it lets other work run. */
const YIELD_EVERY_DOCUMENTS = 8;

/** A document's own backoff after failed projections: 0.5 s, 1 s, ... 5 min. */
const DOCUMENT_BACKOFF_MAX_MS = 5 * 60_000;
/** The whole projector's backoff while the database cannot be reached: 0.5 s, 1 s, ... 30 s. */
const DATABASE_BACKOFF_MAX_MS = 30_000;

function backoff(failures: number, max: number): number {
  return Math.min(max, 250 * 2 ** Math.min(failures, 20));
}

export class Projector {
  private readonly dirty = new Map<string, Dirty>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  /** Failures in a row that say the database is down (not one document's fault). */
  private failures = 0;
  private lastFailure = 0;
  /** `since` of the document being projected right now. */
  private inFlight: number | undefined;
  /** Whether the document projected alone right now is a set-aside one being retried. */
  private retrying = false;
  /** While the start-up catch-up has not marked what it found, nothing can be called caught up. */
  private catchingUp: { since: number; done: Promise<unknown> } | undefined;
  private closed = false;
  /** When read positions were accepted, per document, until a projection writes their events. */
  private readonly readTimes = new Map<string, Map<string, number>>();
  /** The member rows' derived columns as last written, per document (derived.ts). */
  private readonly derived = new DerivedCache();
  /** Lookups waiting for the next committed pass, here or on another node. */
  private readonly waiting = new Set<() => void>();
  /** Passes committed (notifications heard) so far: a lookup compares it across its query. */
  private passes = 0;

  constructor(private readonly deps: ProjectorDeps) {}

  /**
   * The room accepted `writes` by `author` at server time `at` (durable already): read
   * positions keep their acceptance time for the MessageRead event. Lost on a crash before the
   * projection; the event then carries the time the projection found the read.
   */
  accepted(
    key: string,
    accepted: { author: string; reads: ReadonlyArray<readonly [string, number]>; at: number },
  ): void {
    if (this.closed) return;
    let times = this.readTimes.get(key);
    for (const [, value] of accepted.reads) {
      if (!times) {
        times = new Map();
        this.readTimes.set(key, times);
      }
      times.set(`${accepted.author}:${value}`, accepted.at);
    }
  }

  /** A document changed: project it soon. */
  notify(key: string): void {
    if (this.closed || !tryParseKey(key)) return;
    const now = this.deps.now();
    const entry = this.dirty.get(key);
    if (entry) {
      // A document backing off after failures keeps waiting: a new change does not cut it short.
      entry.due = Math.max(entry.retryAt ?? 0, dueAt(entry.since, now, this.deps));
    } else this.dirty.set(key, { since: now, due: dueAt(now, now, this.deps) });
    this.schedule();
  }

  /** Documents whose last projection failed (each retried on its own backoff). */
  get failing(): number {
    // A retry takes its document out of `dirty` while it runs: it is still failing until it
    // succeeds (else /health would read 0 for the length of every retry).
    let n = this.retrying ? 1 : 0;
    for (const d of this.dirty.values()) if ((d.failures ?? 0) > 0) n += 1;
    return n;
  }

  /**
   * Age (ms) of the oldest change not yet in the tables; 0 when caught up. Documents set aside
   * after failed projections are left out (`failing` counts them): the lag says how far behind
   * the others are, which one bad document must not hide.
   */
  lagMs(): number {
    let oldest = Math.min(
      this.inFlight ?? Number.POSITIVE_INFINITY,
      this.catchingUp?.since ?? Number.POSITIVE_INFINITY,
    );
    for (const d of this.dirty.values())
      if ((d.failures ?? 0) === 0) oldest = Math.min(oldest, d.since);
    return oldest === Number.POSITIVE_INFINITY ? 0 : this.deps.now() - oldest;
  }

  /** Documents with changes not yet in the tables (being projected included). */
  get pending(): number {
    return this.dirty.size + (this.inFlight === undefined ? 0 : 1) + (this.catchingUp ? 1 : 0);
  }

  /**
   * Start-up catch-up: every stored document whose state differs from its cursor (never
   * projected, or changed after the last committed projection) is marked dirty.
   */
  catchUp(
    names: () => Promise<Iterable<string>>,
    stateVector: (name: string) => Promise<Uint8Array>,
  ): Promise<number> {
    const since = this.deps.now();
    const done = this.markStale(names, stateVector).finally(() => {
      if (this.catchingUp?.done === done) this.catchingUp = undefined;
    });
    this.catchingUp = { since, done };
    return done;
  }

  /**
   * Cluster mode's catch-up: a node that just loaded `key` (it owns it now, perhaps after its
   * owner died between an append and that append's projection) projects it if the tables are
   * behind the document. Off the load's path: the caller does not wait.
   */
  async checkLoaded(key: string, stateVector: Uint8Array): Promise<void> {
    if (this.closed || !tryParseKey(key)) return;
    const [row] = await this.deps.sql<{ state_vector: Uint8Array }[]>`
      SELECT state_vector FROM t_projection_cursor WHERE doc_name = ${key}`;
    if (row && sameStateVector(new Uint8Array(row.state_vector), stateVector)) return;
    this.notify(key);
  }

  private async markStale(
    names: () => Promise<Iterable<string>>,
    stateVector: (name: string) => Promise<Uint8Array>,
  ): Promise<number> {
    const cursors = new Map<string, Uint8Array>();
    for (const row of await this.deps.sql<
      { doc_name: string; state_vector: Uint8Array }[]
    >`SELECT doc_name, state_vector FROM t_projection_cursor`) {
      cursors.set(row.doc_name, new Uint8Array(row.state_vector));
    }
    let marked = 0;
    for (const name of await names()) {
      if (!tryParseKey(name)) continue;
      const cursor = cursors.get(name);
      const sv = await stateVector(name);
      if (cursor && sameStateVector(cursor, sv)) continue;
      this.notify(name);
      marked += 1;
    }
    return marked;
  }

  /**
   * Projects everything dirty now, except documents backing off after failed projections (one
   * bad document must not make every caller wait for it or retry it); resolves when the rest is
   * in the tables, throws if a projection failed meanwhile.
   */
  async flush(timeoutMs = 10_000): Promise<void> {
    const deadline = this.deps.now() + timeoutMs;
    let failed = false;
    const forced = () => [...this.dirty.values()].filter((d) => (d.failures ?? 0) === 0);
    // A projection in flight has already taken its key out of `dirty`: wait for it too, or a
    // caller reading its own write could query the tables before that transaction commits.
    while ((forced().length > 0 || this.running) && !this.closed) {
      for (const d of forced()) d.due = 0;
      if ((await this.runOnce()) > 0) failed = true;
      if (this.failures > 0) throw new Error('projection failed; will retry');
      if (this.deps.now() > deadline)
        throw new Error(`projection did not catch up within ${timeoutMs} ms`);
    }
    if (failed) throw new Error('projection of a document failed; it is retried on its own');
  }

  /**
   * Reads the tables with every change this node knows of projected first (read your writes);
   * in cluster mode a miss is asked again until other nodes' projectors had their maximum delay
   * (a message just written through another node is in the tables within it). `id`, the BIGINT
   * looked up, says when it was issued: a miss on an id issued longer ago than that is final
   * at once (lookupDeadline), so a 404 does not cost every caller the whole wait.
   */
  async lookup<T>(query: () => Promise<T | undefined>, id?: string): Promise<T | undefined> {
    await this.flush().catch(() => undefined);
    const found = await query();
    const wait = this.deps.elsewhereMaxDelayMs;
    if (found !== undefined || !wait) return found;
    const deadline = lookupDeadline(Date.now(), wait, id);
    while (Date.now() < deadline) {
      // Woken by any node's committed pass (then it asks again), else every lookupPollMs (a
      // listening connection that broke) and at the deadline. `seen` is read before the query
      // it follows: a pass that committed while that query ran wakes it at once.
      const seen = this.passes;
      await this.nextPass(
        seen,
        Math.min(deadline - Date.now(), this.deps.channel ? (this.deps.lookupPollMs ?? 1000) : 100),
      );
      const later = await query();
      if (later !== undefined) return later;
    }
    return undefined;
  }

  /** A projector's pass committed (this node's, or another's notification on `channel`). */
  projected(): void {
    this.passes += 1;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiting) wake();
  }

  /** Resolves at the next committed pass after `seen` (at once if one came), or at `timeoutMs`. */
  private nextPass(seen: number, timeoutMs: number): Promise<void> {
    if (this.passes !== seen || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, timeoutMs));
      timer.unref();
      this.waiting.add(wake);
    });
  }

  async close(): Promise<void> {
    try {
      await this.catchingUp?.done;
      await this.flush();
    } catch (error) {
      this.deps.log.warn('projector closed with changes not projected; the next start catches up', {
        error,
      });
    }
    this.closed = true;
    clearInterval(this.timer);
    this.projected(); // lookups still waiting ask once more now
    await this.running;
  }

  /**
   * One ticker instead of a timer per document: every few milliseconds it projects what is due,
   * one document at a time, and backs off while projections fail (0.5 s, 1 s, ... 30 s).
   */
  private schedule(): void {
    if (this.closed || this.timer) return;
    const tick = Math.max(10, Math.min(100, this.deps.debounceMs));
    this.timer = setInterval(() => {
      if (this.running || this.dirty.size === 0) return;
      if (
        this.failures > 0 &&
        this.deps.now() - this.lastFailure < backoff(this.failures, DATABASE_BACKOFF_MAX_MS)
      )
        return;
      void this.runOnce();
    }, tick);
    this.timer.unref();
  }

  /**
   * Projects `due` documents in one transaction. 'done': all are in the tables; 'down': the
   * database is unreachable (they keep their place, the projector backs off); 'apart': another
   * failure, so the caller projects them one by one to find the document at fault.
   */
  private async projectTogether(due: Array<[string, Dirty]>): Promise<'done' | 'down' | 'apart'> {
    for (const [key] of due) this.dirty.delete(key);
    this.inFlight = Math.min(...due.map(([, d]) => d.since));
    try {
      await withTimeout(
        this.projectBatch(due.map(([key]) => key)),
        PROJECTION_TIMEOUT_MS,
        `projection of ${due.length} documents`,
      );
      this.failures = 0;
      for (const [key, entry] of due) this.deps.onProjected?.(key, this.deps.now() - entry.since);
      return 'done';
    } catch (error) {
      const down = databaseDown(error);
      const at = this.deps.now();
      for (const [key, entry] of due) {
        const again = this.dirty.get(key);
        // Put back as they were: due now (apart) or after the global backoff (down).
        this.dirty.set(key, { since: Math.min(entry.since, again?.since ?? entry.since), due: at });
        if (down) this.deps.onFailed?.(key, true);
      }
      if (!down) return 'apart';
      this.failures += 1;
      this.lastFailure = at;
      this.deps.log.warn('projection failed, database unreachable; will retry', {
        documents: due.length,
        error,
        failures: this.failures,
      });
      return 'down';
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Runs (or joins) one pass; resolves with the number of documents that failed in it. */
  private runOnce(): Promise<number> {
    if (!this.running) {
      // Cleared in a callback, never synchronously: a run with nothing due finishes at once,
      // and clearing before the assignment would leave a settled promise marked as running.
      const run = this.projectDue().finally(() => {
        if (this.running === run) this.running = undefined;
      });
      this.running = run;
    }
    return this.running;
  }

  /**
   * Projects every due document, oldest change first. A document that fails is set aside on its
   * own backoff and the pass goes on with the others: a value Postgres refuses (issue 12: one
   * message with U+0000 stopped every projection, across restarts) stalls only its document.
   * Only an error that says the database is unreachable ends the pass and backs off globally.
   */
  private async projectDue(): Promise<number> {
    const now = this.deps.now();
    const due = [...this.dirty.entries()]
      .filter(([, d]) => d.due <= now)
      .sort((a, b) => a[1].since - b[1].since);
    let failed = 0;
    // A pass that runs anyway takes every changed document along, due or not: under a stream of
    // changes to many documents, one transaction every max delay instead of one per tick for the
    // few that fell due in it (a pass costs a dozen statements whatever it holds).
    const riding =
      due.length > 0
        ? [...this.dirty.entries()]
            .filter(([, d]) => d.due > now && (d.failures ?? 0) === 0)
            .sort((a, b) => a[1].since - b[1].since)
        : [];
    const fresh = [...due.filter(([, d]) => (d.failures ?? 0) === 0), ...riding].slice(
      0,
      BATCH_DOCUMENTS,
    );
    if (fresh.length > 1 && !this.closed) {
      const outcome = await this.projectTogether(fresh);
      if (outcome === 'down') return fresh.length;
      if (outcome === 'done') {
        const projected = new Set(fresh.map(([key]) => key));
        due.splice(0, due.length, ...due.filter(([key]) => !projected.has(key)));
      }
    }
    for (const [key, entry] of due) {
      if (this.closed) break;
      // Changes that arrive while projecting re-mark the key; only clear what we covered.
      this.dirty.delete(key);
      this.inFlight = entry.since;
      this.retrying = (entry.failures ?? 0) > 0;
      try {
        this.deps.log.debug('projecting', { doc: key });
        await withTimeout(this.project(key), PROJECTION_TIMEOUT_MS, `projection of ${key}`);
        this.failures = 0;
        if ((entry.failures ?? 0) > 0)
          this.deps.log.info('projection recovered', { doc: key, failures: entry.failures });
        this.deps.onProjected?.(key, this.deps.now() - entry.since);
      } catch (error) {
        failed += 1;
        const down = databaseDown(error);
        const failures = (entry.failures ?? 0) + 1;
        const at = this.deps.now();
        // While the database is down, no document is at fault: it keeps its place.
        const retryAt = down ? at : at + backoff(failures, DOCUMENT_BACKOFF_MAX_MS);
        const again = this.dirty.get(key);
        this.dirty.set(key, {
          since: Math.min(entry.since, again?.since ?? entry.since),
          due: retryAt,
          ...(down ? {} : { failures, retryAt }),
        });
        this.deps.onFailed?.(key, down);
        if (down) {
          this.failures += 1;
          this.lastFailure = at;
          this.deps.log.warn('projection failed, database unreachable; will retry', {
            doc: key,
            error,
            failures: this.failures,
          });
          break;
        }
        this.deps.log.warn('projection of a document failed; it is set aside and retried', {
          doc: key,
          error,
          code: (error as { code?: unknown }).code,
          failures,
          retryInMs: retryAt - at,
        });
      } finally {
        this.inFlight = undefined;
        this.retrying = false;
      }
    }
    return failed;
  }

  /** Projects one document in one transaction: rows, events, cursor. */
  private async project(key: string): Promise<void> {
    const rows = await this.deps.sql<
      { state_vector: Uint8Array }[]
    >`SELECT state_vector FROM t_projection_cursor WHERE doc_name = ${key}`;
    const cursor = rows[0] ? new Uint8Array(rows[0].state_vector) : undefined;
    const planned = await this.planFor(key, cursor);
    try {
      if (planned.plan) await this.write([planned.plan]);
    } finally {
      planned.release();
    }
  }

  /**
   * Projects several documents in one transaction, with one multi-row statement per table for
   * all of them: under a stream of changes to many documents, the database runs a dozen
   * statements per pass instead of a dozen per document. Any failure fails them all (the caller
   * then projects them one by one, which isolates a document the database refuses).
   */
  private async projectBatch(keys: readonly string[]): Promise<void> {
    const cursors = new Map<string, Uint8Array>();
    for (const row of await this.deps.sql<{ doc_name: string; state_vector: Uint8Array }[]>`
      SELECT doc_name, state_vector FROM t_projection_cursor WHERE doc_name = ANY(${this.deps.sql.array(keys as string[])}::text[])`)
      cursors.set(row.doc_name, new Uint8Array(row.state_vector));
    const planned: Array<Awaited<ReturnType<Projector['planFor']>>> = [];
    try {
      try {
        for (const [i, key] of keys.entries()) {
          // Each document is read in one synchronous step; between every few, the sockets get
          // the thread (the reads resolve as microtasks, so a pass of 50 documents was one
          // block of 20-30 ms ahead of every message that arrived meanwhile).
          if (i > 0 && i % YIELD_EVERY_DOCUMENTS === 0) await new Promise(setImmediate);
          planned.push(await this.planFor(key, cursors.get(key)));
        }
      } catch (error) {
        // Not written: the read times taken so far wait for the retry (write keeps its own).
        for (const { plan } of planned) if (plan) this.keepTimes(plan);
        throw error;
      }
      const plans = planned.flatMap((p) => (p.plan ? [p.plan] : []));
      if (plans.length > 0) await this.write(plans);
    } finally {
      for (const p of planned) p.release();
    }
  }

  /**
   * What a projection of `key` writes, read from the document in one synchronous step inside
   * the room's queue: one consistent state, and only durable state (a change still being written
   * to disk is not visible there), so the tables never get ahead of what survives a kill -9.
   * The room stays borrowed until `release` (after the transaction).
   */
  private async planFor(key: string, cursor: Uint8Array | undefined) {
    const { now } = this.deps;
    const lent = await this.deps.borrow(key);
    if (!lent) return { plan: undefined, release: () => {} };
    const { read, release } = lent;
    try {
      const plan = await read((doc) => {
        const stateVector = Y.encodeStateVector(doc);
        const changes = changedKeys(doc, cursor);
        const conversation = conversationRow(doc);
        if (!conversation) return undefined; // a group whose genesis has not arrived yet
        const id = conversation.conversation_id;
        const members = [
          ...new Set([
            ...(changes.all ? conversationMembers(doc) : changes.members),
            ...changes.readers,
          ]),
        ]
          .map((identity) => memberRow(doc, id, identity))
          .filter((r) => r !== undefined);
        const messages = (changes.all ? allMessages(doc) : [...changes.messages])
          .map((k) => messageRow(doc, id, k))
          .filter((r) => r !== undefined);
        // Taken now (inside the room's queue): reads accepted later wait for the next projection.
        const times = this.readTimes.get(key);
        this.readTimes.delete(key);
        const events = eventsFor(
          doc,
          conversation,
          changes,
          true,
          (identity, seq) => times?.get(`${identity}:${seq}`),
          now,
        );
        // Messages expired by messageRetentionDays: their rows go (deletions are not in the diff).
        const expired = retentionCutoff(doc, now()) === undefined ? [] : expiredMessageIds(doc);
        // Unread counts, last message and read message ids, from the same consistent state; a
        // projection from scratch (no cursor) writes every member's, whatever was remembered.
        const derived = derivedRows(doc, conversation);
        if (changes.all) this.derived.forget(key);
        const derivedMembers = this.derived.changed(key, derived.members);
        return {
          stateVector,
          conversation: { ...conversation, ...derived.conversation },
          id,
          members,
          messages,
          events,
          times,
          expired,
          derivedMembers,
        };
      });
      return { plan: plan && { key, ...plan }, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Writes the rows, events and cursors of `plans` (distinct documents) in one transaction. */
  private async write(planned: ReadonlyArray<ProjectionPlan>): Promise<void> {
    const { sql, ids, now } = this.deps;
    const time = now();
    for (const plan of planned)
      this.deps.log.debug('projection plan', {
        doc: plan.key,
        members: plan.members.length,
        messages: plan.messages.length,
        events: plan.events.length,
      });
    // Every statement's text is the same whatever the number of rows (rows travel as one JSON
    // parameter, ids as one array): the driver prepares each statement once and then sends one
    // Bind/Execute, where a text per row count cost a Parse/Describe round trip every time (and
    // a prepared statement kept in the database for every distinct count).
    const written = await sql
      .begin(async (tx) => {
        const plans = this.deps.guardCursors
          ? await notBehind(tx as unknown as Sql, planned)
          : planned;
        if (plans.length === 0) return plans;
        const conversationIds = plans.map((p) => p.id);
        const conversations = plans.map(({ conversation }) => ({
          ...conversation,
          update_time: time,
        }));
        const memberRows = plans.flatMap((plan) =>
          plan.members.map((m) => ({
            ...m,
            member_id: ids.next(),
            create_time: m.join_time,
            update_time: time,
          })),
        );
        const messageRows = plans.flatMap((plan) => plan.messages);
        const cursorRows = plans.map((plan) => ({
          doc_name: plan.key,
          state_vector: `\\x${Buffer.from(plan.stateVector).toString('hex')}`,
          projected_at: time,
        }));
        const existed = new Set(
          (
            await tx<{ conversation_id: string }[]>`
            SELECT conversation_id FROM t_conversation WHERE conversation_id = ANY(${tx.array(conversationIds)}::bigint[])`
          ).map((r) => String(r.conversation_id)),
        );
        await tx`
        INSERT INTO t_conversation (conversation_id, conversation_key, conversation_type, conversation_name,
          conversation_avatar, status, setting, current_member_count, max_member_count, first_identity_id,
          first_identity_type, second_identity_id, second_identity_type, source, create_time, created_by, update_time,
          last_message_id, last_active_time, first_identity_unread_count, second_identity_unread_count)
        SELECT conversation_id, conversation_key, conversation_type, conversation_name,
          conversation_avatar, status, setting, current_member_count, max_member_count, first_identity_id,
          first_identity_type, second_identity_id, second_identity_type, source, create_time, created_by, update_time,
          last_message_id, last_active_time, first_identity_unread_count, second_identity_unread_count
        FROM json_populate_recordset(NULL::t_conversation, ${jsonRows(conversations)}::text::json)
        ON CONFLICT (conversation_id) DO UPDATE SET
          conversation_name = EXCLUDED.conversation_name, conversation_avatar = EXCLUDED.conversation_avatar,
          status = EXCLUDED.status, setting = EXCLUDED.setting, current_member_count = EXCLUDED.current_member_count,
          max_member_count = EXCLUDED.max_member_count, first_identity_id = EXCLUDED.first_identity_id,
          first_identity_type = EXCLUDED.first_identity_type, second_identity_id = EXCLUDED.second_identity_id,
          second_identity_type = EXCLUDED.second_identity_type, update_time = EXCLUDED.update_time,
          last_message_id = EXCLUDED.last_message_id, last_active_time = EXCLUDED.last_active_time,
          first_identity_unread_count = EXCLUDED.first_identity_unread_count,
          second_identity_unread_count = EXCLUDED.second_identity_unread_count`;
        for (const chunk of chunks(memberRows)) {
          await tx`
          INSERT INTO t_conversation_member (member_id, conversation_id, identity_id, identity_type, nickname,
            avatar, member_role, member_status, join_time, exit_time, last_read_seq, mute_notification,
            invited_by, create_time, update_time)
          SELECT member_id, conversation_id, identity_id, identity_type, nickname,
            avatar, member_role, member_status, join_time, exit_time, last_read_seq, mute_notification,
            invited_by, create_time, update_time
          FROM json_populate_recordset(NULL::t_conversation_member, ${jsonRows(chunk)}::text::json)
          ON CONFLICT (conversation_id, identity_id) DO UPDATE SET
            identity_type = EXCLUDED.identity_type, nickname = EXCLUDED.nickname, avatar = EXCLUDED.avatar, member_role = EXCLUDED.member_role,
            member_status = EXCLUDED.member_status, join_time = EXCLUDED.join_time, exit_time = EXCLUDED.exit_time,
            last_read_seq = EXCLUDED.last_read_seq, mute_notification = EXCLUDED.mute_notification,
            invited_by = EXCLUDED.invited_by, update_time = EXCLUDED.update_time`;
        }
        for (const chunk of chunks(messageRows)) {
          await tx`
          INSERT INTO t_msg_body (message_id, title, content, relating_biz_type, relating_biz_id,
            relating_parent_msg_id, create_time, update_time, message_type, conversation_id, message_format,
            reply_to_message_id, file_url, file_size, duration, is_recalled, recall_time, sender_identity_id,
            sender_identity_type, conversation_seq, client_message_key)
          SELECT message_id, title, content, relating_biz_type, relating_biz_id,
            relating_parent_msg_id, create_time, update_time, message_type, conversation_id, message_format,
            reply_to_message_id, file_url, file_size, duration, is_recalled, recall_time, sender_identity_id,
            sender_identity_type, conversation_seq, client_message_key
          FROM json_populate_recordset(NULL::t_msg_body, ${jsonRows(chunk)}::text::json)
          ON CONFLICT (message_id) DO UPDATE SET
            content = EXCLUDED.content, title = EXCLUDED.title, file_url = EXCLUDED.file_url, file_size = EXCLUDED.file_size,
            is_recalled = EXCLUDED.is_recalled, recall_time = EXCLUDED.recall_time, update_time = EXCLUDED.update_time,
            reply_to_message_id = EXCLUDED.reply_to_message_id`;
        }
        for (const plan of plans)
          for (const chunk of chunks(plan.expired))
            await tx`DELETE FROM t_msg_body WHERE conversation_id = ${plan.id} AND message_id = ANY(${tx.array(chunk)}::bigint[])`;
        // After the member upserts: a new member's row exists by now.
        for (const chunk of chunks(plans.flatMap((plan) => plan.derivedMembers))) {
          await tx`
          UPDATE t_conversation_member m SET
            unread_count = d.unread_count, last_read_message_id = d.last_read_message_id
          FROM json_populate_recordset(NULL::t_conversation_member, ${jsonRows(chunk)}::text::json) d
          WHERE m.conversation_id = d.conversation_id AND m.identity_id = d.identity_id`;
        }
        const eventRows = plans.flatMap((plan) =>
          plan.events
            .filter((event) => !(existed.has(plan.id) && event.type === 'ConversationCreated'))
            .map((event) => ({
              event_key: event.key,
              event_type: event.type,
              conversation_id: plan.id,
              conversation_key: plan.key,
              payload: event.payload,
              occurred_at: event.occurredAt,
              created_at: time,
            })),
        );
        for (const chunk of chunks(eventRows)) {
          await tx`
          INSERT INTO t_domain_event (event_key, event_type, conversation_id, conversation_key, payload, occurred_at, created_at)
          SELECT event_key, event_type, conversation_id, conversation_key, payload, occurred_at, created_at
          FROM json_populate_recordset(NULL::t_domain_event, ${jsonRows(chunk)}::text::json)
          ON CONFLICT (event_key) DO NOTHING`;
        }
        await tx`
        INSERT INTO t_projection_cursor (doc_name, state_vector, projected_at)
        SELECT doc_name, state_vector, projected_at
        FROM json_populate_recordset(NULL::t_projection_cursor, ${jsonRows(cursorRows)}::text::json)
        ON CONFLICT (doc_name) DO UPDATE SET state_vector = EXCLUDED.state_vector, projected_at = EXCLUDED.projected_at`;
        return plans;
      })
      .catch((error: unknown) => {
        // Not written: keep the times for the retry.
        for (const plan of planned) this.keepTimes(plan);
        throw error;
      });
    for (const plan of written) this.derived.wrote(plan.key, plan.derivedMembers);
    // After the commit, to every node listening (this one too), and best effort: a notification
    // that cannot be sent costs the waiting lookups their next poll, never this projection.
    const { channel } = this.deps;
    if (channel && written.length > 0)
      void sql`SELECT pg_notify(${channel}, '')`.catch((error: unknown) =>
        this.deps.log.warn('projection notification not sent', { channel, error }),
      );
  }

  private keepTimes(plan: { key: string; times?: Map<string, number> | undefined }): void {
    if (!plan.times) return;
    const later = this.readTimes.get(plan.key);
    this.readTimes.set(plan.key, new Map([...plan.times, ...(later ?? [])]));
  }
}

type ProjectionPlan = NonNullable<Awaited<ReturnType<Projector['planFor']>>['plan']>;

/**
 * The plans whose state is not behind their document's cursor, with those cursors locked until
 * the transaction ends (cluster mode: a projector that lost a document may still hold a plan of
 * an older state than the new owner's projection already wrote).
 */
async function notBehind(
  tx: Sql,
  plans: ReadonlyArray<ProjectionPlan>,
): Promise<ReadonlyArray<ProjectionPlan>> {
  const cursors = new Map<string, Uint8Array>();
  for (const row of await tx<{ doc_name: string; state_vector: Uint8Array }[]>`
    SELECT doc_name, state_vector FROM t_projection_cursor
    WHERE doc_name = ANY(${tx.array(plans.map((p) => p.key))}::text[]) FOR UPDATE`)
    cursors.set(row.doc_name, new Uint8Array(row.state_vector));
  return plans.filter((plan) => {
    const cursor = cursors.get(plan.key);
    return !cursor || covers(plan.stateVector, cursor);
  });
}

/** Whether state vector `a` holds everything `b` does (a state at or after b's). */
function covers(a: Uint8Array, b: Uint8Array): boolean {
  const x = Y.decodeStateVector(a);
  for (const [client, clock] of Y.decodeStateVector(b))
    if ((x.get(client) ?? 0) < clock) return false;
  return true;
}

/**
 * Rows as one JSON parameter of `json_populate_recordset` (one statement text for any number of
 * rows). BIGINT ids are strings and BYTEA is `\\x…` hex, both read by the column types' input
 * functions; a text Postgres refuses (U+0000) is refused here too, as a data error.
 */
function jsonRows(rows: readonly object[]): string {
  return JSON.stringify(rows);
}

/** Rows per multi-row statement (one JSON parameter each; keeps a statement's size bounded). */
function chunks<T>(rows: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/**
 * How much the nodes' clocks may disagree: an id's issue time is the issuing node's clock, and
 * the wait it sets is measured on this one's.
 */
export const CLOCK_SKEW_MS = 2_000;

/**
 * Until when a lookup that missed asks again: `waitMs` after now, but never past `waitMs` (plus
 * the clocks' skew) after the id was issued, since by then the node that issued it has
 * projected it (or it does not exist). An id from the future (a clock stepped back, the id
 * generator's reservation) or of no known layout waits the whole `waitMs`.
 */
export function lookupDeadline(now: number, waitMs: number, id?: string): number {
  const issued = id === undefined ? undefined : issuedAt(id);
  if (issued === undefined || issued > now) return now + waitMs;
  return Math.min(now + waitMs, issued + waitMs + CLOCK_SKEW_MS);
}

/** A projection that takes longer than this counts as failed (a query hung on a dead link). */
const PROJECTION_TIMEOUT_MS = 30_000;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProjectionTimeout(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function conversationMembers(doc: Y.Doc): string[] {
  return [...doc.getMap('members').keys()];
}

function allMessages(doc: Y.Doc): string[] {
  return [...doc.getMap('stamps').keys()];
}

function sameStateVector(a: Uint8Array, b: Uint8Array): boolean {
  const x = Y.decodeStateVector(a);
  const y = Y.decodeStateVector(b);
  if (x.size !== y.size) return false;
  for (const [client, clock] of x) if (y.get(client) !== clock) return false;
  return true;
}

/**
 * Whether a projection failed because the database cannot be reached or is not serving (rather
 * than refusing this document's rows): a connection error, our own timeout, or a SQLSTATE of
 * class 08 (connection), 53 (resources), 57 (operator intervention) or 58 (system error).
 */
export function databaseDown(error: unknown): boolean {
  if (error instanceof ProjectionTimeout) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (/^[0-9A-Z]{5}$/.test(code)) return /^(08|53|57|58)/.test(code);
  // postgres.js and Node socket errors: ECONNREFUSED, CONNECTION_CLOSED, CONNECT_TIMEOUT, ...
  return /^(E[A-Z]+|CONNECT(ION)?_[A-Z_]+)$/.test(code);
}

class ProjectionTimeout extends Error {}

/**
 * The Postgres channel projectors notify on each committed pass: one per schema, so clusters
 * that share a database in separate schemas (the tests) do not wake each other. A channel name
 * is at most 63 bytes (pg_notify refuses a longer one), as is a schema's: the schema is hashed.
 */
export function projectedChannel(schema: string | undefined): string {
  if (!schema) return 'convosync_projected';
  return `convosync_projected_${createHash('sha1').update(schema).digest('hex').slice(0, 16)}`;
}
