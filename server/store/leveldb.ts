/**
 * @module DocStore on y-leveldb under DATA_DIR (the embedded default).
 */
import { StrictLeveldb } from '../../shared/leveldb.js';
import type { DocStore } from './types.js';

/** y-leveldb document name for server metadata; not a valid conversation key, so no clash. */
const SERVER_DOC = '$server';

export async function openLeveldbStore(location: string): Promise<DocStore> {
  const level = await StrictLeveldb.open(location);
  const p = level.persistence;
  return {
    load: (name) => level.updates(name),
    append: async (name, update) => {
      await p.storeUpdate(name, update);
    },
    compact: (name) => p.flushDocument(name),
    list: async () => (await p.getAllDocNames()).filter((name) => name !== SERVER_DOC),
    stateVector: (name) => p.getStateVector(name),
    getMeta: (key) => p.getMeta(SERVER_DOC, key),
    setMeta: (key, value) => p.setMeta(SERVER_DOC, key, value),
    get isOpen() {
      return level.isOpen;
    },
    close: () => level.close(),
  };
}
