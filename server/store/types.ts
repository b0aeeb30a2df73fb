/**
 * @module The storage seam: where documents live between restarts.
 */

export interface DocStore {
  /** Every stored update of `name`, oldest first; empty for a document never stored. */
  load(name: string): Promise<Uint8Array[]>;
  /** Appends one update. Resolves only once the update survives a kill -9 of this process. */
  append(name: string, update: Uint8Array): Promise<void>;
  /** Merges the stored updates of `name` into one (deleted content is dropped from disk). */
  compact(name: string): Promise<void>;
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
