/**
 * @module DocStore in memory: nothing survives the process. For tests of code above the seam
 * and for throwaway servers; never the default.
 */
import * as Y from 'yjs';
import type { DocStore } from './types.js';

export function memoryStore(): DocStore {
  const docs = new Map<string, Uint8Array[]>();
  const meta = new Map<string, string | number>();
  let open = true;
  const check = () => {
    if (!open) throw new Error('memory store is closed');
  };
  return {
    load: async (name) => {
      check();
      return [...(docs.get(name) ?? [])];
    },
    append: async (name, update) => {
      check();
      const list = docs.get(name) ?? [];
      list.push(update.slice());
      docs.set(name, list);
    },
    compact: async (name, current) => {
      check();
      const list = docs.get(name);
      if (!list || list.length < 2) return;
      if (current) {
        docs.set(name, [current.encode().update]);
        return;
      }
      const doc = new Y.Doc();
      for (const update of list) Y.applyUpdate(doc, update);
      docs.set(name, [Y.encodeStateAsUpdate(doc)]);
      doc.destroy();
    },
    list: async () => {
      check();
      return [...docs.keys()];
    },
    stateVector: async (name) => {
      check();
      const doc = new Y.Doc();
      for (const update of docs.get(name) ?? []) Y.applyUpdate(doc, update);
      const sv = Y.encodeStateVector(doc);
      doc.destroy();
      return sv;
    },
    getMeta: async (key) => {
      check();
      return meta.get(key);
    },
    setMeta: async (key, value) => {
      check();
      meta.set(key, value);
    },
    get isOpen() {
      return open;
    },
    close: async () => {
      open = false;
    },
  };
}
