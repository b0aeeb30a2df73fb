/**
 * @module Hand-made Yjs V1 updates for tests: structs with any origin, parent and content, and
 * any delete set, i.e. what a malicious client can send and an honest Yjs never would.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

export interface RawItem {
  client: number;
  clock: number;
  origin?: Y.ID | null;
  rightOrigin?: Y.ID | null;
  /** A root name (only used when there is no origin or rightOrigin). */
  parent?: string | null;
  parentSub?: string | null;
  content: Y.ContentAny | Y.ContentDeleted;
}

export function craft(
  items: RawItem[],
  ds: Array<[client: number, clock: number, len: number]> = [],
): Uint8Array {
  const enc = new Y.UpdateEncoderV1();
  const byClient = new Map<number, RawItem[]>();
  for (const it of items) byClient.set(it.client, [...(byClient.get(it.client) ?? []), it]);
  encoding.writeVarUint(enc.restEncoder, byClient.size);
  for (const [client, list] of [...byClient].sort((a, b) => b[0] - a[0])) {
    list.sort((a, b) => a.clock - b.clock);
    encoding.writeVarUint(enc.restEncoder, list.length);
    enc.writeClient(client);
    encoding.writeVarUint(enc.restEncoder, list[0]!.clock);
    for (const it of list) {
      const parent = (it.parent ?? null) as unknown as Y.AbstractType<unknown> | null;
      const item = new Y.Item(
        Y.createID(client, it.clock),
        null,
        it.origin ?? null,
        null,
        it.rightOrigin ?? null,
        parent,
        it.parentSub ?? null,
        it.content,
      );
      item.write(enc, 0);
    }
  }
  const dsBy = new Map<number, Array<[number, number]>>();
  for (const [c, k, l] of ds) dsBy.set(c, [...(dsBy.get(c) ?? []), [k, l]]);
  encoding.writeVarUint(enc.restEncoder, dsBy.size);
  for (const [c, ranges] of dsBy) {
    enc.resetDsCurVal();
    encoding.writeVarUint(enc.restEncoder, c);
    encoding.writeVarUint(enc.restEncoder, ranges.length);
    for (const [k, l] of ranges) {
      enc.writeDsClock(k);
      enc.writeDsLen(l);
    }
  }
  return enc.toUint8Array();
}

/** The item currently holding `key` of root map `root`. */
export function currentItem(doc: Y.Doc, root: string, key: string): Y.Item {
  const item = (doc.getMap(root) as unknown as { _map: Map<string, Y.Item> })._map.get(key);
  if (!item) throw new Error(`no item at ${root}.${key}`);
  return item;
}

export const any = (value: unknown) => new Y.ContentAny([value]);
