/**
 * @module A conversation's whole state, encoded once for the clients that arrive with nothing: a
 * web client without local storage (every page load), a new device. Their sync step 2 is the
 * whole document, and encoding it costs as much as the document is long (about 40–80 ms for
 * 10,000 messages on the benchmark machine), every time, on the thread that serves the sockets.
 * Here the frame is kept and sent again; what the document gained since goes after it as a diff.
 *
 * The kept encoding is dropped as soon as a step deletes anything but a read or delivery
 * position: a recalled or censored message, one retention removed, an old group name or
 * announcement, a profile, a card's state. Such content must never reach a client again, not
 * even for the moment before the diff deletes it (an SDK app would show it for that moment).
 * Read and delivery positions are overwritten with every read, and only ever move forward: a
 * client briefly holding an older one is harmless, and dropping on them would keep nothing in a
 * busy conversation.
 *
 * The client hears the kept state as an `update` and the diff as sync step 2, in that order, so
 * a stock y-websocket provider turns `synced` only once it holds the whole current state. The
 * two are sent in one turn, which the outbound limit takes as one answer (outbound.ts: a
 * socket that is not behind may take a frame past its cap, and what follows it in that turn).
 * Documents below `minBytes` are cheap to encode and not kept; all rooms share `budgetBytes`
 * (least recently sent go first).
 * Entries belong to one Room object, not its name: a room unloaded and loaded again (here or,
 * in cluster mode, after another node owned it meanwhile) starts without one, unless its stored
 * log was one update holding no deleted content (a compacted log, as an idle room leaves it):
 * that update is the whole state already, and is kept as it is (`seed`), so the first client
 * holding nothing after a load does not wait for an encoding of the whole document.
 */
import * as Y from 'yjs';
import * as wire from '../../shared/protocol/sync.js';
import { conversationRoots } from '../../shared/schema.js';

interface Kept {
  /** The whole state when kept, framed as an update message. */
  readonly frame: Uint8Array;
  readonly stateVector: Uint8Array;
  readonly bytes: number;
}

export class FullStates {
  private readonly kept = new Map<object, Kept>();
  private bytes = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly minBytes = 64 * 1024,
  ) {}

  /** Whether `stateVector` is a client that holds nothing (encoded as the empty map). */
  static isEmpty(stateVector: Uint8Array): boolean {
    return stateVector.byteLength === 1 && stateVector[0] === 0;
  }

  /** The frames that bring a client holding nothing to the state of `doc` (of `room`). */
  framesFor(room: object, doc: Y.Doc): Uint8Array[] {
    const kept = this.kept.get(room);
    if (kept) {
      // The structs since, and the whole delete set (deletions change no state vector).
      const diff = Y.encodeStateAsUpdate(doc, kept.stateVector);
      if (diff.byteLength * 4 <= kept.bytes) {
        this.kept.delete(room);
        this.kept.set(room, kept); // most recently used last
        return [kept.frame, wire.writeSyncStep2(diff)];
      }
      this.drop(room); // the diff has grown: encode anew
    }
    const update = Y.encodeStateAsUpdate(doc);
    if (update.byteLength >= this.minBytes && update.byteLength <= this.budgetBytes) {
      this.keep(room, {
        frame: wire.writeUpdate(update),
        stateVector: Y.encodeStateVector(doc),
        bytes: update.byteLength,
      });
    }
    return [wire.writeSyncStep2(update)];
  }

  /**
   * Keeps `update`, the one update `doc` was loaded from, as the whole state of `room`: the
   * caller has checked that it deleted no content while loading (`deletesKeptContent`), so the
   * update carries nothing the document no longer holds. Within the same size bounds as an
   * encoding made here.
   */
  seed(room: object, update: Uint8Array, doc: Y.Doc): void {
    if (update.byteLength < this.minBytes || update.byteLength > this.budgetBytes) return;
    this.drop(room);
    this.keep(room, {
      frame: wire.writeUpdate(update),
      stateVector: Y.encodeStateVector(doc),
      bytes: update.byteLength,
    });
  }

  /** Forgets the state kept for `room` (its content changed in a way a diff must not follow). */
  drop(room: object): void {
    const kept = this.kept.get(room);
    if (!kept) return;
    this.kept.delete(room);
    this.bytes -= kept.bytes;
  }

  /** Bytes kept over all rooms (tests, metrics). */
  get size(): number {
    return this.bytes;
  }

  private keep(room: object, kept: Kept): void {
    this.kept.set(room, kept);
    this.bytes += kept.bytes;
    for (const [oldest, entry] of this.kept) {
      if (this.bytes <= this.budgetBytes) break;
      this.kept.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }
}

/** A conversation's read and delivery position maps: the deletions a kept encoding survives. */
export function positionMaps(doc: Y.Doc): ReadonlySet<object> {
  const { reads, delivered } = conversationRoots(doc);
  return new Set<object>([reads, delivered]);
}

/**
 * Whether `transaction` deleted anything a kept encoding must not carry on: anything but an
 * item of `positions` (the read and delivery position maps), or an item whose content was
 * dropped already (a compacted log's deleted items, or a client's own garbage-collected ones,
 * arrive as empty items: they never carried content here). Read before Yjs's garbage collection
 * empties the deleted items, in `afterTransaction`.
 */
export function deletesKeptContent(
  transaction: Y.Transaction,
  positions: ReadonlySet<object>,
): boolean {
  if (transaction.deleteSet.clients.size === 0) return false;
  let found = false;
  Y.iterateDeletedStructs(transaction, transaction.deleteSet, (struct) => {
    if (found || !(struct instanceof Y.Item) || struct.content instanceof Y.ContentDeleted) return;
    if (!positions.has(struct.parent as object)) found = true;
  });
  return found;
}
