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
