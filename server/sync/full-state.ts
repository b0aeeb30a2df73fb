/**
 * @module A conversation's whole state, encoded once for the clients that arrive with nothing: a
 * web client without local storage (every page load), a new device. Their sync step 2 is the
 * whole document, and encoding it costs as much as the document is long (about 40–80 ms for
 * 10,000 messages on the benchmark machine), every time, on the thread that serves the sockets.
 * Here the frame is kept and sent again; what the document gained since goes after it as a diff.
 *
 * The kept encoding is dropped as soon as a step deletes a message's content (a recall, a
 * censoring, a deletion by retention): such content must never reach a client again, not even
 * for the moment before the diff deletes it. Other overwrites (a read position, a member's
 * record, a card's state) only replace values every member could read when they were written,
 * and the diff carries their deletion.
 *
 * The client hears the kept state as an `update` and the diff as sync step 2, in that order, so
 * a stock y-websocket provider turns `synced` only once it holds the whole current state.
 * Documents below `minBytes` are cheap to encode and not kept; all rooms share `budgetBytes`
 * (least recently sent go first).
 */
import * as Y from 'yjs';
import * as wire from '../../shared/protocol/sync.js';

interface Kept {
  /** The whole state when kept, framed as an update message. */
  readonly frame: Uint8Array;
  readonly stateVector: Uint8Array;
  readonly bytes: number;
}

export class FullStates {
  private readonly kept = new Map<string, Kept>();
  private bytes = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly minBytes = 64 * 1024,
  ) {}

  /** Whether `stateVector` is a client that holds nothing (encoded as the empty map). */
  static isEmpty(stateVector: Uint8Array): boolean {
    return stateVector.byteLength === 1 && stateVector[0] === 0;
  }

  /** The frames that bring a client holding nothing to the state of `doc` (room `key`). */
  framesFor(key: string, doc: Y.Doc): Uint8Array[] {
    const kept = this.kept.get(key);
    if (kept) {
      // The structs since, and the whole delete set (deletions change no state vector).
      const diff = Y.encodeStateAsUpdate(doc, kept.stateVector);
      if (diff.byteLength * 4 <= kept.bytes) {
        this.kept.delete(key);
        this.kept.set(key, kept); // most recently used last
        return [kept.frame, wire.writeSyncStep2(diff)];
      }
      this.drop(key); // the diff has grown: encode anew
    }
    const update = Y.encodeStateAsUpdate(doc);
    if (update.byteLength >= this.minBytes && update.byteLength <= this.budgetBytes) {
      this.keep(key, {
        frame: wire.writeUpdate(update),
        stateVector: Y.encodeStateVector(doc),
        bytes: update.byteLength,
      });
    }
    return [wire.writeSyncStep2(update)];
  }

  /** Forgets the state kept for `key` (its content changed in a way a diff must not follow). */
  drop(key: string): void {
    const kept = this.kept.get(key);
    if (!kept) return;
    this.kept.delete(key);
    this.bytes -= kept.bytes;
  }

  /** Bytes kept over all rooms (tests, metrics). */
  get size(): number {
    return this.bytes;
  }

  private keep(key: string, kept: Kept): void {
    this.kept.set(key, kept);
    this.bytes += kept.bytes;
    for (const [oldest, entry] of this.kept) {
      if (this.bytes <= this.budgetBytes) break;
      this.kept.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }
}

/** Whether `transaction` deleted the content of a message (`messages`: the document's root map). */
export function deletesMessageContent(
  transaction: Y.Transaction,
  messages: object,
): boolean {
  if (transaction.deleteSet.clients.size === 0) return false;
  let found = false;
  Y.iterateDeletedStructs(transaction, transaction.deleteSet, (struct) => {
    if (!found && struct instanceof Y.Item && struct.parent === messages) found = true;
  });
  return found;
}
