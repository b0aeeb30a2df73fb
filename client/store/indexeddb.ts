/**
 * @module ClientStore in the browser: documents in y-indexeddb (one IndexedDB database per
 * conversation), intents and the device id in one small `convosync` database.
 */
import * as idb from 'lib0/indexeddb';
import { IndexeddbPersistence } from 'y-indexeddb';
import { isDeviceId, newDeviceId } from '../../shared/ids.js';
import type { Intent } from '../outbox.js';
import type { ClientStore } from './types.js';

const KV = 'kv';

export async function indexeddbStore(prefix = 'convosync'): Promise<ClientStore> {
  const meta = await idb.openDB(`${prefix}`, (db) => idb.createStores(db, [[KV]]));
  const kv = (): IDBObjectStore => idb.transact(meta, [KV])[0]!;
  const dbName = (name: string) => `${prefix}:${name}`;
  const open = new Map<string, IndexeddbPersistence>();
  return {
    async attach(name, doc) {
      // IndexedDB cannot be asked for "databases with this prefix" everywhere (databases() is
      // recent in Firefox), so the store keeps its own list of the documents it holds.
      await idb.put(kv(), 1, `doc:${name}`);
      const persistence = new IndexeddbPersistence(dbName(name), doc);
      open.set(name, persistence);
      await persistence.whenSynced;
      return async () => {
        open.delete(name);
        await persistence.destroy();
      };
    },
    async clear(name) {
      const persistence = open.get(name);
      if (persistence) {
        open.delete(name);
        await persistence.clearData();
      } else {
        await idb.deleteDB(dbName(name));
      }
      await idb.del(kv(), `doc:${name}`);
    },
    async names() {
      const keys = await idb.getAllKeys(
        kv(),
        idb.createIDBKeyRangeBound('doc:', 'doc;', false, true),
      );
      return keys.map((key) => String(key).slice('doc:'.length));
    },
    async loadIntents(name) {
      const raw = await idb.get(kv(), `outbox:${name}`);
      return typeof raw === 'string' ? (JSON.parse(raw) as Intent[]) : [];
    },
    async saveIntents(name, intents) {
      await idb.put(kv(), JSON.stringify(intents), `outbox:${name}`);
    },
    async deviceId() {
      const existing = await idb.get(kv(), 'device');
      if (isDeviceId(existing)) return existing;
      const fresh = newDeviceId();
      await idb.put(kv(), fresh, 'device');
      return fresh;
    },
    async close() {
      for (const persistence of open.values()) await persistence.destroy();
      open.clear();
      meta.close();
    },
  };
}
