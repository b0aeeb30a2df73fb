/**
 * @module The DocStore acceptance suite: every implementation runs it (leveldb.test.ts,
 * memory.test.ts), like hono's router/common.case.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { DocStore } from './types.js';

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

    it("compacts to the owner's state when given it, and appends after it load after it", async () => {
      const store = await open();
      const doc = new Y.Doc();
      doc.on('update', (u: Uint8Array) => void store.append('d', u));
      const secret = 'recalled content that must leave the disk';
      doc.getMap('messages').set('m', { content: secret });
      doc.getMap('messages').set('m', { content: '' });
      doc.getMap('messages').set('n', { content: 'kept' });
      await new Promise((r) => setTimeout(r, 20));
      const current = {
        update: Y.encodeStateAsUpdate(doc),
        stateVector: Y.encodeStateVector(doc),
      };
      await store.compact('d', current);
      const loaded = await store.load('d');
      expect(loaded).toHaveLength(1);
      expect(Buffer.from(loaded[0]!).toString('utf8')).not.toContain(secret);
      doc.getMap('messages').set('o', { content: 'later' });
      await new Promise((r) => setTimeout(r, 20));
      const copy = new Y.Doc();
      for (const u of await store.load('d')) Y.applyUpdate(copy, u);
      expect(copy.getMap('messages').toJSON()).toEqual(doc.getMap('messages').toJSON());
      expect(Y.decodeStateVector(await store.stateVector('d'))).toEqual(
        Y.decodeStateVector(Y.encodeStateVector(doc)),
      );
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
