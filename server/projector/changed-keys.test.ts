import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { rootsOf } from '../sync/resolve.js';
import { changedKeys } from './changed-keys.js';
import type { Changes } from './events.js';

/** The first version: the difference encoded as an update and decoded again. */
function byDiff(doc: Y.Doc, cursor: Uint8Array): Changes {
  const changes: Changes = {
    all: false,
    members: new Set(),
    messages: new Set(),
    readers: new Set(),
    meta: false,
  };
  const rootOf = rootsOf(doc);
  for (const struct of Y.decodeUpdate(Y.encodeStateAsUpdate(doc, cursor)).structs) {
    if (!(struct instanceof Y.Item)) continue;
    const item = Y.getItem(doc.store, struct.id);
    if (!(item instanceof Y.Item) || item.parentSub === null) continue;
    const key = item.parentSub;
    const root = rootOf.get(item.parent);
    if (root === 'members' || root === 'profiles') changes.members.add(key);
    else if (root === 'messages' || root === 'stamps') changes.messages.add(key);
    else if (root === 'reads') changes.readers.add(key.slice(0, key.lastIndexOf(':')));
    else if (root === 'meta' || root === 'settings') changes.meta = true;
  }
  return changes;
}

const roots = ['members', 'profiles', 'messages', 'stamps', 'reads', 'meta', 'settings'] as const;
/** One edit by one of three writers: a key set (or set again) in one root, or a key deleted. */
const edit = fc.record({
  writer: fc.integer({ min: 0, max: 2 }),
  root: fc.constantFrom(...roots),
  key: fc.integer({ min: 0, max: 6 }),
  remove: fc.boolean(),
  sync: fc.boolean(),
});
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function play(doc: Y.Doc, writers: Y.Doc[], edits: readonly Edit[]): void {
  for (const e of edits) {
    const w = writers[e.writer]!;
    const map = w.getMap(e.root);
    const key = e.root === 'reads' ? `u${e.key}:d${e.key % 2}` : `k${e.key}`;
    if (e.remove) map.delete(key);
    else map.set(key, { v: Math.random() });
    // Sometimes the server's document hears it at once (one update), sometimes later (merged).
    if (e.sync) Y.applyUpdate(doc, Y.encodeStateAsUpdate(w, Y.encodeStateVector(doc)));
  }
  for (const w of writers) Y.applyUpdate(doc, Y.encodeStateAsUpdate(w, Y.encodeStateVector(doc)));
}

describe('changedKeys', () => {
  it('finds exactly what the encoded difference since the cursor holds', () => {
    fc.assert(
      fc.property(fc.array(edit, { maxLength: 30 }), fc.array(edit, { maxLength: 30 }), (a, b) => {
        const doc = new Y.Doc();
        for (const root of roots) doc.getMap(root);
        const writers = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
        play(doc, writers, a);
        const cursor = Y.encodeStateVector(doc);
        play(doc, writers, b);
        expect(changedKeys(doc, cursor)).toEqual(byDiff(doc, cursor));
      }),
      { numRuns: 300 },
    );
  });

  it('without a cursor, says everything changed', () => {
    const changes = changedKeys(new Y.Doc(), undefined);
    expect(changes.all).toBe(true);
    expect(changes.meta).toBe(true);
  });
});
