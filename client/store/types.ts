/**
 * @module The SDK's local-persistence seam: a device keeps every conversation it opened and the
 * intents the server has not confirmed, so the app works offline and survives restarts.
 */
import type * as Y from 'yjs';
import type { DeviceId } from '../../shared/ids.js';
import type { Intent } from '../outbox.js';

export interface ClientStore {
  /**
   * Loads the stored state of `name` into `doc`, then stores every later update of `doc`.
   * Resolves once the stored state is in `doc`; the returned function stops storing and waits
   * for writes in flight.
   */
  attach(name: string, doc: Y.Doc, onError: (error: Error) => void): Promise<() => Promise<void>>;
  /** Deletes the stored document `name` (not its intents): before a resync from the server. */
  clear(name: string): Promise<void>;
  /**
   * The names of the documents stored on this device (any order), so the SDK can search what
   * the device holds, offline, including conversations that are not open.
   */
  names(): Promise<string[]>;
  /** The unconfirmed intents of `name`, as last saved. */
  loadIntents(name: string): Promise<Intent[]>;
  /** Replaces the unconfirmed intents of `name`; durable when it resolves. */
  saveIntents(name: string, intents: readonly Intent[]): Promise<void>;
  /** A stable id of this store (one per device / browser profile). */
  deviceId(): Promise<DeviceId>;
  close(): Promise<void>;
}

/** Transaction origin of updates that come from the local store (they are not stored again). */
export const STORE_ORIGIN = Symbol('convosync-store');
