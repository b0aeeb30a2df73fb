/**
 * @module DocStore on LevelDB under DATA_DIR (the embedded default), in y-leveldb's layout
 * (leveldb-layout.ts) with two changes to how it writes:
 * - every write goes through one group-commit writer (group-commit.ts): the appends of all rooms
 *   in an event-loop turn become one LevelDB batch, and compaction and meta writes take the same
 *   path, so nothing writes beside it;
 * - each document's next update clock lives in memory, read once (at load, or by one reverse
 *   seek on the first append), where y-leveldb opened an iterator on every append.
 * Errors reach the caller: a failed batch rejects its appends (y-leveldb logs and swallows them).
 */
import { ClassicLevel } from 'classic-level';
import * as Y from 'yjs';
import { type BatchStats, GroupCommit, type WriteOp } from './group-commit.js';
import {
  clockOf,
  decodeMeta,
  decodeStateVector,
  docOfStateVectorKey,
  encodeMeta,
  encodeStateVector,
  metaKey,
  stateVectorKey,
  stateVectorRange,
  updateKey,
  updateRange,
} from './leveldb-layout.js';
import { encodeIfSmall, mergeThread } from './merge-thread.js';
import type { CurrentState, DocState, DocStore } from './types.js';

/** y-leveldb document name for server metadata; not a valid conversation key, so no clash. */
const SERVER_DOC = '$server';

type Level = ClassicLevel<Uint8Array, Uint8Array>;

/** The state vector of the document that `updates` (none or a few) make. */
const stateVectorOf = (updates: readonly Uint8Array[]): Uint8Array => {
  const doc = new Y.Doc({ guid: 'state-vector' }); // a guid: no random uuid to draw
  for (const update of updates) Y.applyUpdate(doc, update);
  const sv = Y.encodeStateVector(doc);
  doc.destroy();
  return sv;
};

export interface LeveldbStoreOptions {
  /** Told about every batch written (metrics). */
  onBatch?: (stats: BatchStats) => void;
}

export async function openLeveldbStore(
  location: string,
  options: LeveldbStoreOptions = {},
): Promise<DocStore> {
  const db: Level = new ClassicLevel<Uint8Array, Uint8Array>(location, {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  await db.open(); // a lock or I/O error surfaces here, not on first use
  const writer = new GroupCommit<WriteOp[]>(async (writes) => {
    const ops: WriteOp[] = [];
    for (const write of writes) for (const op of write) ops.push(op);
    await db.batch(ops as never);
    return undefined;
  }, options.onBatch);
  /**
   * The last stored clock of each document this process has touched (-1: none). A promise while
   * the first lookup runs, so appends that arrive meanwhile take the clocks after it, in order.
   */
  const clocks = new Map<string, number | Promise<number>>();
  /** Documents whose state-vector key (which `list` reads) is on disk: stored ones this process loaded or wrote. */
  const listed = new Set<string>();
  let open = true;

  const check = () => {
    if (!open) throw new Error('LevelDB store is closed');
  };

  const lastStoredClock = async (name: string): Promise<number> => {
    const keys: Uint8Array[] = await db
      .keys({ ...updateRange(name), reverse: true, limit: 1 })
      .all();
    return keys.length === 0 ? -1 : clockOf(keys[0]!);
  };

  /** abstract-level 1 rejects a missing key; this store reads it as undefined. */
  const get = async (key: Uint8Array): Promise<Uint8Array | undefined> => {
    try {
      return await db.get(key);
    } catch (error) {
      if ((error as { code?: string }).code === 'LEVEL_NOT_FOUND') return undefined;
      throw error;
    }
  };

  /** Reserves the next `count` clocks of `name`; resolves to the clock before the first. */
  const reserve = (name: string, count: number): number | Promise<number> => {
    const known = clocks.get(name);
    if (typeof known === 'number') {
      clocks.set(name, known + count);
      return known;
    }
    const previous = known ?? lastStoredClock(name);
    const next = previous.then((clock) => clock + count);
    clocks.set(name, next);
    // Once settled, later appends take the fast path again.
    void next.then(
      (clock) => {
        if (clocks.get(name) === next) clocks.set(name, clock);
      },
      () => {
        if (clocks.get(name) === next) clocks.delete(name);
      },
    );
    return previous;
  };

  const readUpdates = (name: string): Promise<Array<[Uint8Array, Uint8Array]>> =>
    db.iterator(updateRange(name)).all();

  /** Replays large logs for compactions (merge-thread.ts); started on first use. */
  const merger = mergeThread();

  const append = async (name: string, update: Uint8Array): Promise<void> => {
    check();
    const reserved = reserve(name, 1);
    const last = typeof reserved === 'number' ? reserved : await reserved;
    const ops: WriteOp[] = [];
    if (!listed.has(name)) {
      // The state-vector key lists the document (as y-leveldb writes it with the first update).
      // Valid for a first write (clock 0: this update is all there is); after a clock given up
      // (a failed write, an empty compaction) it names the clock before this one, so it reads
      // as stale and is computed again when asked for (`stateVector`).
      const doc = new Y.Doc({ guid: name }); // a guid of its own: no random uuid to draw
      Y.applyUpdate(doc, update);
      ops.push({
        type: 'put',
        key: stateVectorKey(name),
        value: encodeStateVector(Math.max(last, 0), Y.encodeStateVector(doc)),
      });
      doc.destroy();
    }
    ops.push({ type: 'put', key: updateKey(name, last + 1), value: update });
    // A failed write leaves its clock unused, never handed out again (a compaction of this
    // document may hold a later one): a gap in the clocks is harmless.
    await writer.write(ops);
    listed.add(name);
  };

  /** Per document, the compaction under way: the next one waits for it (see `compact`). */
  const compacting = new Map<string, Promise<unknown>>();

  /**
   * Merges the document's stored updates into one, in one atomic batch: the merged update at a
   * clock reserved when called, the state vector valid at that clock, and every update at or
   * below it deleted. Appends asked for after the call take later clocks: they are kept, and a
   * load applies them after the merge, so a caller need not wait for this before it appends
   * again. The merge is the caller's own document when it is small (`current`, encoded now,
   * before anything else can change it), else a replay of the stored updates on the merge
   * thread, off the thread that serves the sockets. One document's compactions run one after
   * the other: one that read its keys before the previous one's batch was written would leave
   * that merged update behind, and with it any content a recall had just removed.
   */
  const compact = (name: string, current?: CurrentState): Promise<Uint8Array> => {
    check();
    const reserved = reserve(name, 1);
    const state = encodeIfSmall(current);
    const previous = compacting.get(name) ?? Promise.resolve();
    const run = previous.then(async () => {
      const last = typeof reserved === 'number' ? reserved : await reserved;
      if (last < 0) {
        // Nothing stored: nothing to merge (and updateKey(name, -1) would name the last clock).
        if (clocks.get(name) === 0) clocks.set(name, -1);
        return stateVectorOf([]);
      }
      // `current` holds every update up to `last` and the caller wrote them all; otherwise wait
      // for the writes queued so far, which include every update up to `last` (not for the
      // writer to be idle: under load it never is).
      if (!state) await writer.write([]).catch(() => undefined);
      const range = { gte: updateRange(name).gte, lte: updateKey(name, last) };
      let keys: Uint8Array[];
      let merged: DocState;
      if (state) {
        keys = await db.keys(range).all();
        merged = state;
      } else {
        const entries = await db.iterator(range).all();
        keys = entries.map(([key]) => key);
        const updates = entries.map(([, update]) => update);
        merged =
          entries.length < 2
            ? { update: updates[0] ?? new Uint8Array(), stateVector: stateVectorOf(updates) }
            : await merger.merge(name, updates);
      }
      if (keys.length < 2) {
        // Nothing to merge: give the reserved clock back if nothing came after it.
        if (clocks.get(name) === last + 1) clocks.set(name, last);
        return merged.stateVector;
      }
      await writer.write([
        { type: 'put', key: updateKey(name, last + 1), value: merged.update },
        {
          type: 'put',
          key: stateVectorKey(name),
          value: encodeStateVector(last + 1, merged.stateVector),
        },
        ...keys.map((key): WriteOp => ({ type: 'del', key })),
      ]);
      listed.add(name);
      return merged.stateVector;
    });
    const tail = run.catch(() => undefined);
    compacting.set(name, tail);
    void tail.then(() => {
      if (compacting.get(name) === tail) compacting.delete(name);
    });
    return run;
  };

  return {
    load: async (name) => {
      check();
      const entries = await readUpdates(name);
      const last = entries.length === 0 ? -1 : clockOf(entries.at(-1)![0]);
      if (entries.length > 0) listed.add(name);
      // Only when nothing was reserved meanwhile: a pending reservation already counts further.
      if (!clocks.has(name)) clocks.set(name, last);
      return entries.map(([, value]) => value);
    },
    append,
    compact: async (name, current) => {
      await compact(name, current);
    },
    list: async () => {
      check();
      const keys: Uint8Array[] = await db.keys(stateVectorRange()).all();
      return keys.map(docOfStateVectorKey).filter((name) => name !== SERVER_DOC);
    },
    stateVector: async (name) => {
      check();
      const stored = await get(stateVectorKey(name));
      if (stored) {
        const { clock, sv } = decodeStateVector(stored);
        const known = clocks.get(name);
        const current = typeof known === 'number' ? known : await lastStoredClock(name);
        if (clock === current) return sv;
      }
      // Stale or missing: y-leveldb compacts here too, which leaves a valid one behind.
      return compact(name);
    },
    getMeta: async (key) => {
      check();
      const value = await get(metaKey(SERVER_DOC, key));
      return value === undefined ? undefined : decodeMeta(value);
    },
    setMeta: async (key, value) => {
      check();
      await writer.write([
        { type: 'put', key: metaKey(SERVER_DOC, key), value: encodeMeta(value) },
      ]);
    },
    get isOpen() {
      return open;
    },
    close: async () => {
      if (!open) return;
      open = false;
      await Promise.all(compacting.values());
      await writer.settled();
      await merger.close();
      await db.close();
    },
  };
}
