/**
 * @module The fenced log: what cluster mode needs of a DocStore beyond the single-node seam
 * (../shared/notes/scale-out.md). A document's updates sit at positions 1, 2, 3...; the owner
 * appends at head+1 and the store refuses a position that is taken (or already compacted away)
 * with FENCED. The log position is the fencing token: a node that lost a conversation's lease
 * and still writes is refused by the log, so no two writers ever both commit position S+1.
 */
import { ConvosyncError } from '../../shared/errors.js';
import type { DocStore } from './types.js';

/** A position in one document's log: 1 is the first update, 0 means "nothing yet". */
export type LogPosition = number;

export interface LoadedLog {
  /** The stored updates, oldest first (a compacted snapshot, if any, first). */
  updates: Uint8Array[];
  /** The position of the last stored update; the next append goes to head+1. */
  head: LogPosition;
}

export interface FencedDocStore extends DocStore {
  /**
   * The updates of `name` and its head, read in one consistent snapshot. With `after` (a head
   * read earlier): only what came since, for a copy that holds the log up to `after` (a
   * compaction past `after` comes as its snapshot, which such a copy merges like any update).
   */
  loadLog(name: string, after?: LogPosition): Promise<LoadedLog>;
  /**
   * Appends `update` at `pos` (the caller's head+1). Rejects with FENCED when the position is
   * taken or lies at or below a compaction: another writer got there first. Durable on resolve.
   */
  appendAt(name: string, update: Uint8Array, pos: LogPosition): Promise<void>;
  /**
   * Replaces positions 1..upto by `snapshot` (the document's merged state at `upto`, as the
   * caller holds it) and deletes those rows, in one transaction. A no-op when a compaction
   * already covers `upto`.
   */
  compactTo(name: string, snapshot: Uint8Array, upto: LogPosition): Promise<void>;
  /**
   * Writes the meta value `key` only if it still holds `expected` (undefined: nothing stored);
   * true when written. Several nodes change one identity's inbox list (inbox/lists.ts).
   */
  swapMeta(key: string, expected: string | undefined, value: string): Promise<boolean>;
}

export function isFenced(error: unknown): boolean {
  return error instanceof ConvosyncError && error.code === 'FENCED';
}
