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

  it('surfaces errors that y-leveldb would swallow: a second process cannot open the same store', async () => {
    const location = await dir();
    const first = await openLeveldbStore(location);
    await expect(openLeveldbStore(location)).rejects.toThrow();
    await first.close();
  });
});
