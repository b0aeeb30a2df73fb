import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openLeveldbStore } from './leveldb.js';
import { runStoreSuite } from './store.case.js';

const dir = async () =>
  path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'convosync-store-')), 'docs');

runStoreSuite('leveldb', async () => openLeveldbStore(await dir()));

describe('DocStore: leveldb specifics', () => {
  it('keeps appended updates across a reopen', async () => {
    const location = await dir();
    const store = await openLeveldbStore(location);
    const doc = new Y.Doc();
    doc.getMap('messages').set('k', 'v');
    await store.append('d', Y.encodeStateAsUpdate(doc));
    await store.setMeta('m', 7);
    await store.close();
    const reopened = await openLeveldbStore(location);
    expect(await reopened.load('d')).toHaveLength(1);
    expect(await reopened.getMeta('m')).toBe(7);
    await reopened.close();
  });

  it("merges a large document's log on the merge thread, not from the caller's copy", async () => {
    const store = await openLeveldbStore(await dir());
    const doc = new Y.Doc();
    const messages = doc.getMap<{ content: string }>('messages');
    const appends: Promise<void>[] = [];
    doc.on('update', (u: Uint8Array) => appends.push(store.append('big', u)));
    const secret = 'recalled content that must leave the disk';
    messages.set('recalled', { content: secret });
    for (let i = 0; i < 1500; i++) messages.set(`m${i}`, { content: 'x'.repeat(1000) });
    messages.set('recalled', { content: '' });
    await Promise.all(appends);
    let encoded = false;
    // 1.5 MB: over the size the store takes from the caller, so it must not call encode.
    const merged = store.compact('big', {
      bytes: 1.5e6,
      encode: () => {
        encoded = true;
        return { update: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) };
      },
    });
    messages.set('after', { content: 'written while the merge ran' });
    await Promise.all([merged, ...appends]);
    expect(encoded).toBe(false);
    const loaded = await store.load('big');
    expect(loaded).toHaveLength(2); // the merge, then the append asked for after it
    expect(Buffer.from(loaded[0]!).toString('utf8')).not.toContain(secret);
    const copy = new Y.Doc();
    for (const u of loaded) Y.applyUpdate(copy, u);
    expect(copy.getMap('messages').toJSON()).toEqual(messages.toJSON());
    await store.close();
  });

  it('lists a document whose first write came right after a compaction found it empty', async () => {
    const location = await dir();
    const store = await openLeveldbStore(location);
    const doc = new Y.Doc();
    doc.getMap('messages').set('k', 'v');
    const update = Y.encodeStateAsUpdate(doc);
    // The compaction takes the clock before the append's: it finds nothing and writes nothing.
    await Promise.all([store.compact('d'), store.append('d', update)]);
    expect(await store.list()).toEqual(['d']);
    expect(Y.decodeStateVector(await store.stateVector('d'))).toEqual(
      Y.decodeStateVector(Y.encodeStateVector(doc)),
    );
    await store.close();
    const reopened = await openLeveldbStore(location);
    expect(await reopened.list()).toEqual(['d']);
    await reopened.close();
  });

  it('surfaces errors that y-leveldb would swallow: a second process cannot open the same store', async () => {
    const location = await dir();
    const first = await openLeveldbStore(location);
    await expect(openLeveldbStore(location)).rejects.toThrow();
    await first.close();
  });
});

describe('DocStore: leveldb group commit', () => {
  const update = (text: string) => {
    const doc = new Y.Doc();
    doc.getMap('messages').set(text, text);
    return Y.encodeStateAsUpdate(doc);
  };
  const state = async (store: Awaited<ReturnType<typeof openLeveldbStore>>, name: string) => {
    const doc = new Y.Doc();
    for (const u of await store.load(name)) Y.applyUpdate(doc, u);
    return doc.getMap('messages').toJSON();
  };

  it('writes the appends of many loaded documents in one turn as one batch', async () => {
    const batches: number[] = [];
    const store = await openLeveldbStore(await dir(), {
      onBatch: ({ writes }) => batches.push(writes),
    });
    // As rooms do: load first (which reads each document's clock once), then write.
    for (let i = 0; i < 50; i++) await store.load(`private_a_${i}`);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.append(`private_a_${i}`, update(`m${i}`))),
    );
    expect(batches).toEqual([50]);
    expect(await state(store, 'private_a_7')).toEqual({ m7: 'm7' });
    await store.close();
  });

  it('continues the stored clocks of a document it did not load, for appends in one turn', async () => {
    const location = await dir();
    const first = await openLeveldbStore(location);
    for (let i = 0; i < 3; i++) await first.append('d', update(`old${i}`));
    await first.close();
    const store = await openLeveldbStore(location);
    // No load: the first append looks the clock up once; the others queue behind it.
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.append('d', update(`new${i}`))));
    await store.close();
    const reopened = await openLeveldbStore(location);
    expect(await reopened.load('d')).toHaveLength(23);
    expect(Object.keys(await state(reopened, 'd'))).toHaveLength(23);
    await reopened.close();
  });

  it('keeps an append queued in the same turn as a compaction of its document', async () => {
    const location = await dir();
    const store = await openLeveldbStore(location);
    for (let i = 0; i < 5; i++) await store.append('d', update(`m${i}`));
    await Promise.all([store.compact('d'), store.append('d', update('late'))]);
    await store.close();
    const reopened = await openLeveldbStore(location);
    expect(Object.keys(await state(reopened, 'd')).sort()).toEqual([
      'late',
      'm0',
      'm1',
      'm2',
      'm3',
      'm4',
    ]);
    // The state vector the compaction left is valid again once nothing follows it.
    await reopened.compact('d');
    expect(await reopened.load('d')).toHaveLength(1);
    await reopened.close();
  });
});
