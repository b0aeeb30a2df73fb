/**
 * @module The DocStore acceptance suite: every implementation runs it (leveldb.test.ts,
 * memory.test.ts), like hono's router/common.case.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { CurrentState, DocStore } from './types.js';

export function runStoreSuite(name: string, open: () => Promise<DocStore>): void {
  describe(`DocStore: ${name}`, () => {
    it('loads nothing for an unknown document', async () => {
      const store = await open();
      expect(await store.load('private_a_b')).toEqual([]);
      await store.close();
    });

    it('appends and loads updates in order, per document', async () => {
      const store = await open();
      const doc = new Y.Doc();
      const updates: Uint8Array[] = [];
      doc.on('update', (u: Uint8Array) => updates.push(u));
      for (let i = 0; i < 5; i++) doc.getMap('messages').set(`k${i}`, i);
      for (const u of updates) await store.append('private_a_b', u);
      await store.append('private_a_c', updates[0]!);
      const loaded = await store.load('private_a_b');
      expect(loaded).toHaveLength(5);
      const copy = new Y.Doc();
      for (const u of loaded) Y.applyUpdate(copy, u);
      expect(copy.getMap('messages').toJSON()).toEqual({ k0: 0, k1: 1, k2: 2, k3: 3, k4: 4 });
      expect(await store.load('private_a_c')).toHaveLength(1);
      await store.close();
    });

    it('compacts to one update with the same state, dropping deleted content', async () => {
      const store = await open();
      const doc = new Y.Doc();
      doc.on('update', (u: Uint8Array) => void store.append('d', u));
      const secret = 'recalled content that must leave the disk';
      doc.getMap('messages').set('m', { content: secret });
      doc.getMap('messages').set('m', { content: '' }); // overwrite = recall tombstone
      doc.getMap('messages').set('n', { content: 'kept' });
      await new Promise((r) => setTimeout(r, 20));
      await store.compact('d');
      const loaded = await store.load('d');
      expect(loaded).toHaveLength(1);
      const bytes = Buffer.concat(loaded.map((u) => Buffer.from(u))).toString('utf8');
      expect(bytes).not.toContain(secret);
      expect(bytes).toContain('kept');
      const copy = new Y.Doc();
      Y.applyUpdate(copy, loaded[0]!);
      expect(copy.getMap('messages').toJSON()).toEqual(doc.getMap('messages').toJSON());
      await store.close();
    });

    /** A document whose updates the store is given as they happen (not awaited). */
    const writing = (store: DocStore, name: string) => {
      const doc = new Y.Doc();
      const appends: Promise<void>[] = [];
      doc.on('update', (u: Uint8Array) => appends.push(store.append(name, u)));
      const current: CurrentState = {
        bytes: 0,
        encode: () => ({
          update: Y.encodeStateAsUpdate(doc),
          stateVector: Y.encodeStateVector(doc),
        }),
      };
      return { doc, current, written: () => Promise.all(appends) };
    };
    const stored = async (store: DocStore, name: string) => {
      const loaded = await store.load(name);
      const copy = new Y.Doc();
      for (const u of loaded) Y.applyUpdate(copy, u);
      const text = Buffer.concat(loaded.map((u) => Buffer.from(u))).toString('utf8');
      return { loaded, copy, text };
    };
    const secret = 'recalled content that must leave the disk';

    it("compacts to the owner's state when given it, and appends after it load after it", async () => {
      const store = await open();
      const { doc, current, written } = writing(store, 'd');
      doc.getMap('messages').set('m', { content: secret });
      doc.getMap('messages').set('m', { content: '' });
      doc.getMap('messages').set('n', { content: 'kept' });
      await written();
      await store.compact('d', current);
      const { loaded, text } = await stored(store, 'd');
      expect(loaded).toHaveLength(1);
      expect(text).not.toContain(secret);
      doc.getMap('messages').set('o', { content: 'later' });
      await written();
      const { copy } = await stored(store, 'd');
      expect(copy.getMap('messages').toJSON()).toEqual(doc.getMap('messages').toJSON());
      expect(Y.decodeStateVector(await store.stateVector('d'))).toEqual(
        Y.decodeStateVector(Y.encodeStateVector(doc)),
      );
      await store.close();
    });

    it('keeps the appends asked for while a compaction is on its way, and merges back to back compactions', async () => {
      const store = await open();
      const { doc, current, written } = writing(store, 'd');
      const messages = doc.getMap('messages');
      messages.set('m', { content: secret });
      messages.set('n', { content: 'kept' });
      await written();
      // Not awaited: the owner goes on at once. A recall, then the recall's own compaction,
      // while the first one may still be reading its keys.
      const first = store.compact('d', current);
      messages.set('m', { content: '' });
      messages.set('o', { content: 'after the first compaction' });
      const second = store.compact('d', current);
      messages.set('p', { content: 'after the second' });
      await Promise.all([first, second, written()]);
      const { loaded, copy, text } = await stored(store, 'd');
      expect(copy.getMap('messages').toJSON()).toEqual(messages.toJSON());
      expect(text).not.toContain(secret);
      expect(loaded.length).toBeLessThanOrEqual(2); // the merge, and 'p' after it
      await store.close();
    });

    it('lists documents and tells their state vectors', async () => {
      const store = await open();
      const doc = new Y.Doc();
      doc.getMap('messages').set('k', 1);
      await store.append('private_a_b', Y.encodeStateAsUpdate(doc));
      await store.setMeta('x', 1);
      expect(await store.list()).toEqual(['private_a_b']);
      expect(Y.decodeStateVector(await store.stateVector('private_a_b'))).toEqual(
        Y.decodeStateVector(Y.encodeStateVector(doc)),
      );
      await store.close();
    });

    it('keeps server metadata', async () => {
      const store = await open();
      expect(await store.getMeta('x')).toBeUndefined();
      await store.setMeta('x', 42);
      await store.setMeta('y', 'z');
      expect(await store.getMeta('x')).toBe(42);
      expect(await store.getMeta('y')).toBe('z');
      await store.close();
    });

    it('reports closed and rejects use after close', async () => {
      const store = await open();
      expect(store.isOpen).toBe(true);
      await store.close();
      expect(store.isOpen).toBe(false);
      await expect(store.append('d', Uint8Array.of(0, 0))).rejects.toThrow();
      await expect(store.load('d')).rejects.toThrow();
    });
  });
}
