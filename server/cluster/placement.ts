/**
 * @module Where a room may load in cluster mode (the RoomPlacement of ../sync/rooms.ts): only on
 * the node holding its lease, and from the fenced Postgres log, appending at the head that very
 * load read. The head is the fencing token (../store/fenced.ts): a node that lost the room and
 * still writes is refused at head+1 by the log's primary key (FENCED, close 4503), so two
 * owners can never both commit the same position, hence never the same seq.
 */
import { ConvosyncError } from '../../shared/errors.js';
import type { DocName } from '../../shared/keys.js';
import type { FencedDocStore, LogPosition } from '../store/fenced.js';
import { encodeIfSmall, type Merger } from '../store/merge-thread.js';
import type { DocStore } from '../store/types.js';
import type { RoomPlacement } from '../sync/rooms.js';
import type { NodeLease } from './lease.js';
import type { Replicas } from './replicas.js';

/**
 * Which node owns `key` now: this one (`lease.id`) if it owned it or has just claimed it, being
 * free, else the live holder. Redis away or this node's lease lapsed: STORAGE_UNAVAILABLE (503,
 * a retry later, like any storage outage).
 */
export async function ownerOf(lease: NodeLease, key: DocName): Promise<string> {
  if (lease.owned().has(key)) return lease.id;
  const owner = await lease.claim(key).catch((cause: unknown) => {
    throw new ConvosyncError('STORAGE_UNAVAILABLE', 'Redis is not answering', { cause });
  });
  if (owner === undefined)
    throw new ConvosyncError('STORAGE_UNAVAILABLE', `this node's lease has lapsed`);
  return owner;
}

export function leasedPlacement(
  lease: NodeLease,
  store: FencedDocStore,
  replicas: Replicas,
  /** Replays large logs for the rooms' compactions, off the sync thread. */
  merger: Merger,
): RoomPlacement {
  return {
    async acquire(key) {
      if (lease.owned().has(key)) return;
      const holder = await lease.claim(key);
      if (holder !== lease.id || !lease.owned().has(key))
        throw new ConvosyncError(
          'FENCED',
          holder ? `${key} is owned by node ${holder}` : `this node's lease has lapsed`,
        );
    },
    storeFor: (key) => fencedRoomStore(store, key, merger),
    async giveUp(keys) {
      lease.retire();
      await Promise.all(keys.map((key) => lease.release(key)));
    },
    async readElsewhere(key, f) {
      if ((await ownerOf(lease, key)) === lease.id) return undefined;
      return { value: await replicas.read(key, f) };
    },
  };
}

/**
 * The store of one load of one room: `load` reads the log and its head, each `append` goes to
 * head+1 (and moves the head on success). Not shared between loads: a reload starts from what
 * the log holds then.
 */
export function fencedRoomStore(store: FencedDocStore, key: DocName, merger: Merger): DocStore {
  let head: LogPosition | undefined;
  const mine = (name: string) => {
    if (name !== key) throw new Error(`the store of ${key} was asked for ${name}`);
  };
  return {
    async load(name) {
      mine(name);
      const log = await store.loadLog(name);
      head = log.head;
      return log.updates;
    },
    async append(name, update) {
      mine(name);
      if (head === undefined) throw new Error(`${key}: append before load`);
      await store.appendAt(name, update, head + 1);
      head += 1;
    },
    // With the room's own state (it holds every append up to `head`, all this store appended)
    // when small; a larger log is read back and replayed on the merge thread, then merged up
    // to the head that read found (appends the room made meanwhile are in it, later ones kept).
    compact: async (name, current) => {
      const state = head === undefined ? undefined : encodeIfSmall(current);
      if (state && head !== undefined) return store.compactTo(name, state.update, head);
      const log = await store.loadLog(name);
      if (log.updates.length < 2) return;
      const merged = await merger.merge(name, log.updates);
      await store.compactTo(name, merged.update, log.head);
    },
    list: () => store.list(),
    stateVector: (name) => store.stateVector(name),
    getMeta: (k) => store.getMeta(k),
    setMeta: (k, v) => store.setMeta(k, v),
    get isOpen() {
      return store.isOpen;
    },
    // The shared store is closed by the server, not by one room.
    close: async () => {},
  };
}
