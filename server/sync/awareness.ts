/**
 * @module One room's presence (y-protocols awareness): which peer controls which awareness
 * clientIDs, the checks on what a peer publishes (its own clientIDs, size, identity), the
 * per-sender floor and the coalesced fan-out. Ephemeral: nothing here is persisted, and the
 * document is only read (who is bound to which clientID).
 */
import * as awarenessProtocol from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { ConvosyncError } from '../../shared/errors.js';
import type { IdentityId } from '../../shared/ids.js';
import * as wire from '../../shared/protocol/sync.js';
import { conversationRoots } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import { withoutEchoes } from './awareness-echoes.js';
import { AwarenessFanout } from './awareness-fanout.js';
import { AwarenessFloor, encodeEntries } from './awareness-floor.js';
import { type AwarenessEntry, checkAwareness, readAwarenessEntries } from './clients.js';

/**
 * Awareness clientIDs one socket may hold states for at once. A client publishes one (its
 * document's clientID), two for a moment when that changes; each held ID leaves a y-protocols
 * `meta` entry behind for as long as the room is loaded, so one socket must not publish many.
 */
export const MAX_AWARENESS_IDS_PER_PEER = 8;

/** What awareness needs of a peer. */
export interface AwarenessPeer {
  readonly identity: Identity;
  send(frame: Uint8Array): void;
}

export interface RoomAwarenessOptions<P extends AwarenessPeer> {
  /** Largest awareness state (JSON characters) a client may publish. */
  maxBytes: number;
  /** At most one broadcast per this many ms (0: every update). */
  fanoutMs: number;
  /** A client's updates closer than this are merged, removals excepted. */
  floorMs: number;
  /** The peers to broadcast to, every one of them. */
  peers: () => Iterable<P>;
  /** A peer published something it may not: the room drops it. */
  refuse: (peer: P, error: ConvosyncError) => void;
}

export class RoomAwareness<P extends AwarenessPeer> {
  readonly awareness: awarenessProtocol.Awareness;
  /** Joined peers and the awareness clientIDs each one controls. */
  private readonly controlled = new Map<P, Set<number>>();
  /** Awareness clientIDs claimed by an identity that has not written with them yet. */
  readonly owners = new Map<number, IdentityId>();
  private readonly fanout: AwarenessFanout;
  private readonly floor: AwarenessFloor<P>;

  constructor(
    private readonly doc: Y.Doc,
    private readonly options: RoomAwarenessOptions<P>,
  ) {
    this.awareness = new awarenessProtocol.Awareness(doc);
    this.awareness.setLocalState(null);
    this.fanout = new AwarenessFanout(options.fanoutMs, (ids) => this.broadcast(ids));
    this.floor = new AwarenessFloor<P>(options.floorMs, (p, u, e) => this.apply(p, u, e));
    this.awareness.on('update', this.onUpdate);
  }

  /** A peer joined: it controls nothing yet; the frame of the current states, if any. */
  join(peer: P): Uint8Array | undefined {
    this.controlled.set(peer, new Set());
    return this.states();
  }

  /** Every current state as one frame; undefined when there is none, unless `always`. */
  states(always = false): Uint8Array | undefined {
    const ids = [...this.awareness.getStates().keys()];
    if (ids.length === 0 && !always) return undefined;
    return wire.writeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, ids));
  }

  /** A peer left: the states it controlled are removed (and that is broadcast). */
  leave(peer: P): void {
    const controlled = this.controlled.get(peer);
    if (!controlled) return;
    this.controlled.delete(peer);
    this.floor.forget(peer);
    for (const id of controlled) this.owners.delete(id);
    if (controlled.size > 0)
      awarenessProtocol.removeAwarenessStates(this.awareness, [...controlled], null);
  }

  /** One awareness message from a joined peer. */
  receive(peer: P, update: Uint8Array): void {
    if (!this.controlled.has(peer)) return;
    let entries: AwarenessEntry[];
    try {
      entries = readAwarenessEntries(update);
    } catch (cause) {
      this.options.refuse(
        peer,
        new ConvosyncError('MALFORMED_MESSAGE', 'awareness update does not decode', { cause }),
      );
      return;
    }
    const states = this.awareness.getStates();
    const changes = withoutEchoes(
      entries,
      (id) => this.awareness.meta.get(id)?.clock,
      (id) =>
        (this.owners.get(id) ?? conversationRoots(this.doc).clients.get(String(id))) ===
        peer.identity.id,
      // The removal of a state nobody holds removes nothing: dropped, so it claims no clientID
      // (a member could otherwise take a reader's clientID for good while the reader was away,
      // and grow the room's bookkeeping by 11 bytes a removal for as long as it stays loaded).
    ).filter(
      // A removal of a state the floor still holds from this peer (back, then gone again
      // within the floor) is a goodbye: kept, so the held state is not applied later.
      ({ clientId, state }) =>
        state !== 'null' || states.has(clientId) || this.floor.holds(peer, clientId),
    );
    if (changes.length === 0) return;
    const tooMany = this.tooMany(peer, changes);
    if (tooMany) {
      this.options.refuse(peer, tooMany);
      return;
    }
    const own = changes.length === entries.length ? update : encodeEntries(changes);
    this.floor.offer(peer, own, changes);
  }

  destroy(): void {
    this.awareness.off('update', this.onUpdate);
    this.fanout.destroy();
    this.floor.destroy();
    this.awareness.destroy();
  }

  /**
   * The refusal when `entries` would have `peer` hold more than MAX_AWARENESS_IDS_PER_PEER
   * states. Checked as a frame arrives and again as the floor applies what it merged: frames
   * held back together must not add up past the cap either.
   */
  private tooMany(peer: P, entries: readonly AwarenessEntry[]): ConvosyncError | undefined {
    const held = this.controlled.get(peer);
    if (!held) return undefined;
    const fresh = new Set<number>();
    for (const { clientId, state } of entries)
      if (state !== 'null' && !held.has(clientId)) fresh.add(clientId);
    if (held.size + fresh.size <= MAX_AWARENESS_IDS_PER_PEER) return undefined;
    return new ConvosyncError(
      'AWARENESS_REJECTED',
      `at most ${MAX_AWARENESS_IDS_PER_PEER} awareness clientIDs per connection`,
    );
  }

  /** Checks and applies an update the floor let through (now or merged, later). */
  private apply(peer: P, update: Uint8Array, entries: readonly AwarenessEntry[]): void {
    if (!this.controlled.has(peer)) return;
    let error: ConvosyncError | undefined = this.tooMany(peer, entries);
    if (error) {
      this.options.refuse(peer, error);
      return;
    }
    try {
      error = checkAwareness(
        this.doc,
        peer.identity.id,
        entries,
        this.owners,
        this.options.maxBytes,
        peer.identity.type,
      );
    } catch (cause) {
      error = new ConvosyncError('MALFORMED_MESSAGE', 'awareness state is not JSON', { cause });
    }
    if (error) {
      this.options.refuse(peer, error);
      return;
    }
    for (const { clientId } of entries) this.owners.set(clientId, peer.identity.id);
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, peer);
  }

  private readonly onUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ) => {
    const controlled = this.controlled.get(origin as P);
    if (controlled) {
      // `updated`, too: a clientID that comes back after a removal (a reconnect with the same
      // document) is reported as updated, because y-protocols keeps its clock.
      for (const id of [...added, ...updated]) controlled.add(id);
      for (const id of removed) controlled.delete(id);
    }
    this.fanout.add([...added, ...updated, ...removed]);
  };

  /** One frame with the current states of `clientIds` (null for the removed) to every peer. */
  private broadcast(clientIds: number[]): void {
    // To every peer, the sender included: y-websocket drops a connection that hears nothing for
    // 30 s, and the echo of its own 15 s renewal is what it hears in a quiet room.
    let frame: Uint8Array | undefined;
    for (const peer of this.options.peers()) {
      frame ??= wire.writeAwareness(
        awarenessProtocol.encodeAwarenessUpdate(this.awareness, clientIds),
      );
      peer.send(frame);
    }
  }
}
