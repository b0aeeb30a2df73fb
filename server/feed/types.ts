/**
 * @module The change feed: what a room publishes after each durable step, and the only way
 * anything downstream (projector, inbox, domain events, search through the projector) hears of
 * it. Nothing subscribed calls back into a room on the write path.
 *
 * The seam for several nodes (issue 16): a `Change` is plain data (strings, numbers, one
 * Uint8Array), so a Redis stream or a Postgres log can carry it as it is; `Feed` is two methods.
 */
import type { DocName } from '../../shared/keys.js';
import type { SystemEvent } from '../../shared/schema.js';

/** Who made a part of the step: a peer's identity, or the server (and why). */
export type ChangeOrigin =
  | { readonly source: 'peer'; readonly identity: string }
  | { readonly source: 'server'; readonly reason: string };

/** A message the step stamped: its key and the server's seq, BIGINT id and acceptance time. */
export interface StampedMessage {
  readonly key: string;
  readonly seq: number;
  readonly id: string;
  readonly at: number;
}

/** One durable step of one document. */
export interface Change {
  readonly doc: DocName;
  /** The step's update as it was persisted (one merged update). */
  readonly update: Uint8Array;
  readonly origins: readonly ChangeOrigin[];
  /** Server time of the step. */
  readonly at: number;
  /** The identity whose accepted writes the step holds, if it holds any (a peer or REST). */
  readonly author?: string;
  readonly messages: readonly StampedMessage[];
  /** Members whose entry the accepted writes changed (joins, exits, roles). */
  readonly members: readonly string[];
  /** Read positions the accepted writes moved: read key (`identity:device`) → seq. */
  readonly reads: ReadonlyArray<readonly [key: string, seq: number]>;
  /** Member profiles the accepted writes set: identity → profile (nickname, avatar, ...). */
  readonly profiles: ReadonlyArray<readonly [identity: string, profile: unknown]>;
  /** System messages the step wrote. */
  readonly notes: readonly SystemEvent[];
}

export type ChangeHandler = (change: Change) => void;

export interface Feed {
  /** Delivers `change` to every subscriber; never throws back at the publisher. */
  publish(change: Change): void;
  /** Hears every change published from now on; returns the unsubscribe function. */
  subscribe(handler: ChangeHandler): () => void;
}
