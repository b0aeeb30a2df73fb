/**
 * @module The storage seam: where documents live between restarts.
 */

/** A document's whole state: its update (as `Y.encodeStateAsUpdate`) and its state vector. */
export interface DocState {
  update: Uint8Array;
  stateVector: Uint8Array;
}

export interface DocStore {
  /** Every stored update of `name`, oldest first; empty for a document never stored. */
  load(name: string): Promise<Uint8Array[]>;
  /** Appends one update. Resolves only once the update survives a kill -9 of this process. */
  append(name: string, update: Uint8Array): Promise<void>;
  /**
   * Merges the stored updates of `name` into one (deleted content is dropped from disk).
   * `current`, when the caller has it: the document as it stands with every append made so far
   * (a room's in-memory copy). It becomes the merged update as it is, so the store neither reads
   * the updates back nor replays them (a 20k-message room paused for that), and the caller may
   * append again before this resolves: appends asked for after this call are kept after it.
   */
  compact(name: string, current?: DocState): Promise<void>;
  /** The names of all stored documents. */
  list(): Promise<string[]>;
  /** The Yjs state vector of a stored document (empty document: no clients). */
  stateVector(name: string): Promise<Uint8Array>;
  /** Reads a small server-only value (e.g. the message-id high-water mark). */
  getMeta(key: string): Promise<unknown>;
  /** Writes a small server-only value; durable like `append`. */
  setMeta(key: string, value: string | number): Promise<void>;
  /** Whether the store accepts reads and writes (readiness). */
  readonly isOpen: boolean;
  /** Flushes and releases the store; later calls reject. */
  close(): Promise<void>;
}
