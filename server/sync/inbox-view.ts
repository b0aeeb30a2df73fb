/**
 * @module The server's view in an inbox document: `entries` (name, preview, unread, last active
 * time per conversation) are derived from the conversations, so they are written in memory and
 * sent to the inbox's sockets, never to disk (issue 13: a message in a group of N members must
 * not cost N durable writes). What is persisted is what the identity writes (prefs), the
 * clientID bindings, and old entries written by earlier versions.
 *
 * The view is written with a clientID of its own, above every 32-bit Yjs clientID (Yjs picks
 * uint32), taken from the clock, so each new view (a room loaded again, a restart) has a greater
 * one than any view before it. Two consequences make the ephemeral writes safe:
 * - A device that kept entries from an earlier view sends them back when it syncs; the server
 *   drops them (structs and deletions of view clientIDs) before the filter, so persisted updates
 *   never refer to view structs and a stored document never waits for one.
 * - On that device the earlier view's value of a key and the current view's are concurrent; Yjs
 *   orders concurrent map writes by clientID, so the current view's wins. A key the device still
 *   shows but the current view does not hold (the identity left while the device was offline)
 *   gets a tombstone: the current view writes it and deletes it again, which removes it there.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import type { DecodedUpdate } from './filter.js';

/** Greater than every clientID Yjs generates (uint32). */
const VIEW_FLOOR = 2 ** 32;

export function isViewClient(clientId: number): boolean {
  return clientId >= VIEW_FLOOR;
}

let lastView = 0;

/** A clientID for a new view, greater than any given before (ms clock, > 2^32 since 1970+50d). */
export function newViewClient(): number {
  lastView = Math.max(lastView + 1, Date.now(), VIEW_FLOOR);
  return lastView;
}

export interface SplitUpdate {
  /** The update without any view struct or deletion (the bytes given when it had none). */
  rest: Uint8Array;
  /** Keys of `entries` that the dropped view structs wrote. */
  viewKeys: Set<string>;
}

/** Drops what earlier views wrote from an update a device sent to its inbox. */
export function withoutView(doc: Y.Doc, update: Uint8Array): SplitUpdate {
  let decoded: DecodedUpdate;
  try {
    decoded = Y.decodeUpdate(update) as DecodedUpdate;
  } catch {
    return { rest: update, viewKeys: new Set() }; // the filter refuses it
  }
  const hasView =
    decoded.structs.some((s) => isViewClient(s.id.client)) ||
    [...decoded.ds.clients.keys()].some(isViewClient);
  if (!hasView) return { rest: update, viewKeys: new Set() };
  const viewKeys = new Set<string>();
  const kept: DecodedUpdate['structs'] = [];
  for (const struct of decoded.structs) {
    if (!isViewClient(struct.id.client)) {
      kept.push(struct);
      continue;
    }
    if (!(struct instanceof Y.Item)) continue;
    if (typeof struct.parentSub === 'string') viewKeys.add(struct.parentSub);
    else if (struct.origin && struct.origin.clock < Y.getState(doc.store, struct.origin.client)) {
      const origin = Y.getItem(doc.store, struct.origin);
      if (origin instanceof Y.Item && typeof origin.parentSub === 'string')
        viewKeys.add(origin.parentSub);
    }
  }
  const ds = new Map(
    [...decoded.ds.clients].filter(([client]) => !isViewClient(client)),
  ) as DecodedUpdate['ds']['clients'];
  return { rest: encodeUpdate(kept, ds), viewKeys };
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
