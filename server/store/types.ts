/**
 * @module The storage seam: where documents live between restarts.
 */

/** A document's whole state: its update (as `Y.encodeStateAsUpdate`) and its state vector. */
export interface DocState {
  update: Uint8Array;
  stateVector: Uint8Array;
}

/** The document as its owner holds it, every append made so far included (a room's copy). */
export interface CurrentState {
  /** About how many bytes the stored log of it holds (what encoding it would cost). */
  readonly bytes: number;
  /** Its state, encoded now: a store calls it during `compact` itself, before any await. */
  encode(): DocState;
}

export interface DocStore {
  /** Every stored update of `name`, oldest first; empty for a document never stored. */
  load(name: string): Promise<Uint8Array[]>;
  /** Appends one update. Resolves only once the update survives a kill -9 of this process. */
  append(name: string, update: Uint8Array): Promise<void>;
  /**
   * Merges the stored updates of `name` into one (deleted content is dropped from disk). Appends
   * asked for after this call are kept after the merge: the caller may go on appending before
   * this resolves. `current`, when the caller has it: the document with every append made so
   * far, which a store may take as the merge instead of reading the log back and replaying it.
   */
  compact(name: string, current?: CurrentState): Promise<void>;
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
