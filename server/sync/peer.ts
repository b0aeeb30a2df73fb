/**
 * @module A socket joined to a room, as the room sees it, and where a change to the document came
 * from. Their own file so broadcast, the feed's record and the inbox view name them without
 * importing the room.
 */
import type { ConvosyncError } from '../../shared/errors.js';
import type { Identity } from '../auth/identity.js';

/** One socket joined to a room. */
export interface Peer {
  readonly identity: Identity;
  /** Whether the peer asked for `accepted` messages (the SDK does; stock clients do not). */
  readonly acks: boolean;
  send(frame: Uint8Array): void;
  /**
   * Writes now what was sent to this peer in this tick (frames are corked until its end): a
   * large step's readers get it before the writer's echo is cut down (broadcast.ts).
   */
  flush?(): void;
  close(error: ConvosyncError): void;
}

/**
 * Where a document change came from (like hocuspocus's TransactionOrigin). `stamped`: a peer's
 * update applied in the same transaction as the server's writes that follow it (its stamps).
 */
export type Origin =
  | { source: 'peer'; peer: Peer; stamped?: true; received?: Uint8Array }
  | { source: 'server'; reason: string };

/** One update event of the document in the current step, with its origin. */
export interface StepUpdate {
  readonly update: Uint8Array;
  readonly origin: Origin;
}
