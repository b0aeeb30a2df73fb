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
import type { DocState, DocStore } from './types.js';

/** y-leveldb document name for server metadata; not a valid conversation key, so no clash. */
const SERVER_DOC = '$server';

type Level = ClassicLevel<Uint8Array, Uint8Array>;

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

  const append = async (name: string, update: Uint8Array): Promise<void> => {
    check();
    const reserved = reserve(name, 1);
    const last = typeof reserved === 'number' ? reserved : await reserved;
    const ops: WriteOp[] = [];
    if (last === -1) {
      // A document's first write also writes its state-vector key, which lists it (as y-leveldb).
      const doc = new Y.Doc({ guid: name }); // a guid of its own: no random uuid to draw
      Y.applyUpdate(doc, update);
      ops.push({
        type: 'put',
        key: stateVectorKey(name),
        value: encodeStateVector(0, Y.encodeStateVector(doc)),
      });
      doc.destroy();
    }
    ops.push({ type: 'put', key: updateKey(name, last + 1), value: update });
    try {
      await writer.write(ops);
    } catch (error) {
      // The reserved clock is not on disk (nor, for a first write, the state-vector key that
      // lists the document): the next load reads the clock from disk again.
      clocks.delete(name);
      throw error;
    }
  };

  /**
   * Merges the stored updates into one, in one atomic batch: the merged update at the next
   * clock, the state vector valid at that clock, and the merged keys deleted. With `current`
   * (every append so far included) only the keys are read, and nothing is replayed.
   */
  const compact = async (name: string, current?: DocState): Promise<Uint8Array> => {
    check();
    if (current) return compactTo(name, current);
    await writer.settled(); // what this document has queued is part of what gets merged
    const entries = await readUpdates(name);
    const doc = new Y.Doc({ guid: name });
    doc.transact(() => {
      for (const [, update] of entries) Y.applyUpdate(doc, update);
    });
    const sv = Y.encodeStateVector(doc);
    if (entries.length < 2) {
      doc.destroy();
      return sv;
    }
    const merged = Y.encodeStateAsUpdate(doc);
    doc.destroy();
    const reserved = reserve(name, 1);
    const last = typeof reserved === 'number' ? reserved : await reserved;
    await writeMerged(
      name,
      last + 1,
      { update: merged, stateVector: sv },
      entries.map(([key]) => key),
    );
    return sv;
  };

  /**
   * Merges into `current`, which holds every update appended so far. Its clock is reserved
   * before the first await, so appends asked for after this call take later clocks: they are
   * not among the keys it deletes (those at or below the reserved one), and a load applies them
   * after it. So the caller need not wait for this write before it appends again.
   */
  const compactTo = async (name: string, current: DocState): Promise<Uint8Array> => {
    const reserved = reserve(name, 1);
    const last = typeof reserved === 'number' ? reserved : await reserved;
    const keys: Uint8Array[] = await db
      .keys({ gte: updateRange(name).gte, lte: updateKey(name, last) })
      .all();
    // One update or none: nothing to merge (the reserved clock stays unused, which is harmless).
    if (keys.length >= 2) await writeMerged(name, last + 1, current, keys);
    return current.stateVector;
  };

  /** The merged update at `clock`, the state vector valid at that clock, `merged` deleted. */
  const writeMerged = (name: string, clock: number, state: DocState, merged: Uint8Array[]) =>
    writer.write([
      { type: 'put', key: updateKey(name, clock), value: state.update },
      {
        type: 'put',
        key: stateVectorKey(name),
        value: encodeStateVector(clock, state.stateVector),
      },
      ...merged.map((key): WriteOp => ({ type: 'del', key })),
    ]);

  return {
    load: async (name) => {
      check();
      const entries = await readUpdates(name);
      const last = entries.length === 0 ? -1 : clockOf(entries.at(-1)![0]);
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
      await writer.settled();
      await db.close();
    },
  };
}
