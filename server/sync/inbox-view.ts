/**
 * @module The server's view in an inbox document: `entries` (name, preview, unread, last active
 * time per conversation) are derived from the conversations, so they are written in memory and
 * sent to the inbox's sockets, never to disk (issue 13: a message in a group of N members must
 * not cost N durable writes). What is persisted is what the identity writes (prefs), the
 * clientID bindings, and old entries written by earlier versions.
 *
 * The view is written with a clientID of its own, above every 32-bit Yjs clientID (Yjs picks
 * uint32), so each new view (a room loaded again, a restart) has a greater one than any view
 * before it (ViewClients: clock × 2048 plus a counter, never below a persisted high-water mark).
 * Three consequences make the ephemeral writes safe and bounded:
 * - On a device the earlier view's value of a key and the current view's are concurrent; Yjs
 *   orders concurrent map writes by clientID, so the current view's wins. A key the device
 *   still shows that the identity left meanwhile gets a tombstone (the current view writes it
 *   and deletes it again), from the list of conversations left (inbox/lists.ts).
 * - The server remembers, per inbox, how far each earlier view got on devices (its clock at
 *   unload, or what a device sent back) and announces those clocks in its state vector, so a
 *   device does not upload an earlier view's structs again on every reconnect.
 * - Whatever a device still sends of an earlier view (structs and deletions of view clientIDs)
 *   is dropped before the filter, so persisted updates never refer to view structs and a stored
 *   document never waits for one. Those structs count toward the struct limit all the same.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import type { DocStore } from '../store/types.js';
import type { DecodedUpdate } from './filter.js';
import type { Origin } from './peer.js';

/** Greater than every clientID Yjs generates (uint32). */
const VIEW_FLOOR = 2 ** 32;
/** View clientIDs per millisecond (clock × this stays below 2^53 until the year 2109). */
const PER_MS = 2048;
const HIGH_WATER = 'inbox-view-high-water';
/** View clientIDs reserved at a time: a minute of clock. */
const RESERVE = 60_000 * PER_MS;

export function isViewClient(clientId: number): boolean {
  return clientId >= VIEW_FLOOR;
}

/**
 * Hands out view clientIDs: each greater than every one handed out before, in this process or an
 * earlier one (a restart, a clock stepped back). A range is reserved (stored) before any ID in
 * it is used, a minute of clock ahead, so a burst of inbox loads costs one meta write, not one
 * each; after a restart IDs start above the stored reservation.
 */
export class ViewClients {
  private last = 0;
  private reserved = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Pick<DocStore, 'getMeta' | 'setMeta'>,
    private readonly clock: () => number = Date.now,
  ) {}

  next(): Promise<number> {
    const next = this.chain.then(async () => {
      if (this.reserved === 0) {
        this.reserved = Number((await this.store.getMeta(HIGH_WATER)) ?? 0) || VIEW_FLOOR;
        this.last = this.reserved;
      }
      const id = Math.max(this.last + 1, this.clock() * PER_MS);
      if (id > this.reserved) {
        const until = id + RESERVE;
        await this.store.setMeta(HIGH_WATER, until);
        this.reserved = until;
      }
      this.last = id;
      return id;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}

export interface SplitUpdate {
  /** The update without any view struct or deletion (the bytes given when it had none). */
  rest: Uint8Array;
  /** For each view clientID the update held structs of: the clock after its last one. */
  viewClocks: Map<number, number>;
}

/**
 * Drops what earlier views wrote from an update a device sent to its inbox. An update of more
 * than `maxStructs` structs in all is returned whole, so the filter refuses it.
 */
export function withoutView(update: Uint8Array, maxStructs: number): SplitUpdate {
  let decoded: DecodedUpdate;
  try {
    decoded = Y.decodeUpdate(update) as DecodedUpdate;
  } catch {
    return { rest: update, viewClocks: new Map() }; // the filter refuses it
  }
  const hasView =
    decoded.structs.some((s) => isViewClient(s.id.client)) ||
    [...decoded.ds.clients.keys()].some(isViewClient);
  if (!hasView || decoded.structs.length > maxStructs)
    return { rest: update, viewClocks: new Map() };
  const viewClocks = new Map<number, number>();
  const kept: DecodedUpdate['structs'] = [];
  for (const struct of decoded.structs) {
    const client = struct.id.client;
    if (!isViewClient(client)) {
      kept.push(struct);
      continue;
    }
    const end = struct.id.clock + struct.length;
    if (end > (viewClocks.get(client) ?? 0)) viewClocks.set(client, end);
  }
  const ds = new Map(
    [...decoded.ds.clients].filter(([client]) => !isViewClient(client)),
  ) as DecodedUpdate['ds']['clients'];
  return { rest: encodeUpdate(kept, ds), viewClocks };
}

/** Encodes structs (of decodeUpdate) and a delete set as one V1 update. */
function encodeUpdate(
  structs: DecodedUpdate['structs'],
  ds: DecodedUpdate['ds']['clients'],
): Uint8Array {
  const encoder = new Y.UpdateEncoderV1();
  const byClient = new Map<number, DecodedUpdate['structs']>();
  for (const s of structs) {
    const list = byClient.get(s.id.client);
    if (list) list.push(s);
    else byClient.set(s.id.client, [s]);
  }
  encoding.writeVarUint(encoder.restEncoder, byClient.size);
  // Higher clientIDs first, as Yjs writes them.
  for (const [client, list] of [...byClient].sort((a, b) => b[0] - a[0])) {
    encoding.writeVarUint(encoder.restEncoder, list.length);
    encoder.writeClient(client);
    encoding.writeVarUint(encoder.restEncoder, list[0]!.id.clock);
    for (const s of list) (s as Y.Item).write(encoder, 0);
  }
  encoding.writeVarUint(encoder.restEncoder, ds.size);
  for (const [client, ranges] of ds) {
    encoder.resetDsCurVal();
    encoding.writeVarUint(encoder.restEncoder, client);
    encoding.writeVarUint(encoder.restEncoder, ranges.length);
    for (const { clock, len } of ranges) {
      encoder.writeDsClock(clock);
      encoder.writeDsLen(len);
    }
  }
  return encoder.toUint8Array();
}

/** Earlier views of an inbox remembered (as inbox/views.ts keeps them). */
const EARLIER_KEPT = 256;

/**
 * One inbox room's view: its clientID (given by the inbox once the room is open) and how far
 * earlier views got on devices. The room owns it; it writes only in memory.
 */
export class InboxView {
  /** This view's clientID, once given. */
  private client: number | undefined;
  /** Earlier views of this inbox: how far each got on devices (announced in the state vector). */
  private readonly earlier = new Map<number, number>();

  constructor(
    private readonly doc: Y.Doc,
    private readonly maxStructs: number,
    /** Called when a device sent structs of an earlier view beyond what was known. */
    private readonly learned: (views: ReadonlyMap<number, number>) => void,
  ) {}

  /** Takes this view's clientID (before any view write) and what is known of earlier views. */
  use(client: number, earlier: ReadonlyMap<number, number>): void {
    this.client = client;
    for (const [c, clock] of earlier)
      if (c !== client && clock > (this.earlier.get(c) ?? 0)) this.earlier.set(c, clock);
  }

  /** Every view of this inbox with how far it got: the earlier ones and this one. */
  clocks(): Map<number, number> {
    const views = new Map(this.earlier);
    if (this.client !== undefined) {
      const clock = Y.getState(this.doc.store, this.client);
      if (clock > 0) views.set(this.client, clock);
    }
    return views;
  }

  /** The state vector a peer is sent: the document's, and how far earlier views got. */
  announcedState(): Y.Doc | Map<number, number> {
    if (this.earlier.size === 0) return this.doc;
    const sv = Y.decodeStateVector(Y.encodeStateVector(this.doc));
    for (const [client, clock] of this.earlier)
      if (clock > (sv.get(client) ?? 0)) sv.set(client, clock);
    return sv;
  }

  /**
   * Drops earlier views' structs from a device's update, and remembers how far those views got
   * on devices, so the next state vector covers them (sent once, not on every reconnect).
   */
  withoutEarlier(received: Uint8Array): Uint8Array {
    const { rest, viewClocks } = withoutView(received, this.maxStructs);
    let learned = false;
    for (const [client, clock] of viewClocks) {
      // Only clientIDs below this view's were handed out by this server (others are made up).
      if (this.client === undefined || client >= this.client) continue;
      if (clock <= (this.earlier.get(client) ?? 0)) continue;
      this.earlier.set(client, clock);
      learned = true;
    }
    if (!learned) return rest;
    // Bounded like what is stored (inbox/views.ts): the latest views only.
    for (const client of [...this.earlier.keys()].sort((a, b) => b - a).slice(EARLIER_KEPT))
      this.earlier.delete(client);
    this.learned(this.earlier);
    return rest;
  }

  /**
   * Runs `change` as a transaction of this view's clientID; nothing when the view has no
   * clientID yet (the inbox's opening failed before it got one: nothing to show).
   */
  write(change: (doc: Y.Doc) => boolean): void {
    if (this.client === undefined) return;
    const own = this.doc.clientID;
    this.doc.clientID = this.client;
    try {
      this.doc.transact(() => change(this.doc), {
        source: 'server',
        reason: 'inbox-view',
      } satisfies Origin);
    } finally {
      this.doc.clientID = own;
    }
  }
}
