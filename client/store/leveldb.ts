/**
 * @module ClientStore on LevelDB (y-leveldb), for Node apps: desktop shells, bots, scripts.
 * Import it from `client/store/leveldb.ts`; it is not in the browser entry point.
 */
import * as Y from 'yjs';
import { isDeviceId, newDeviceId } from '../../shared/ids.js';
import { StrictLeveldb } from '../../shared/leveldb.js';
import type { Intent } from '../outbox.js';
import { type ClientStore, STORE_ORIGIN } from './types.js';

/** Intents live under their own document name, so clearing a document keeps them. */
const outboxName = (name: string) => `${name}#outbox`;
const LOCAL = '$local';

export async function leveldbStore(location: string): Promise<ClientStore> {
  const level = await StrictLeveldb.open(location);
  const p = level.persistence;
  return {
    async attach(name, doc, onError) {
      const updates = await level.updates(name);
      Y.transact(
        doc,
        () => {
          for (const update of updates) Y.applyUpdate(doc, update);
        },
        STORE_ORIGIN,
      );
      let writes: Promise<unknown> = Promise.resolve();
      let count = updates.length;
      const onUpdate = (update: Uint8Array, origin: unknown) => {
        if (origin === STORE_ORIGIN) return;
        count += 1;
        const compact = count > 500;
        if (compact) count = 1;
        writes = writes
          .then(() => p.storeUpdate(name, update))
          .then(() => (compact ? p.flushDocument(name) : undefined))
          .catch((error: Error) => onError(error));
      };
      doc.on('update', onUpdate);
      return async () => {
        doc.off('update', onUpdate);
        await writes;
      };
    },
    clear: (name) => p.clearDocument(name),
    // Only documents with stored updates are listed: intents and the device id are metadata.
    names: () => p.getAllDocNames(),
    async loadIntents(name) {
      const raw = await p.getMeta(outboxName(name), 'intents');
      return typeof raw === 'string' ? (JSON.parse(raw) as Intent[]) : [];
    },
    saveIntents: (name, intents) => p.setMeta(outboxName(name), 'intents', JSON.stringify(intents)),
    async deviceId() {
      const existing = await p.getMeta(LOCAL, 'device');
      if (isDeviceId(existing)) return existing;
      const fresh = newDeviceId();
      await p.setMeta(LOCAL, 'device', fresh);
      return fresh;
    },
    close: () => level.close(),
  };
}
