/**
 * @module ClientStore in memory: state survives reopening a conversation within the process,
 * not a restart. For tests and ephemeral clients (bots, backend scripts).
 */
import * as Y from 'yjs';
import { type DeviceId, newDeviceId } from '../../shared/ids.js';
import type { Intent } from '../outbox.js';
import { type ClientStore, STORE_ORIGIN } from './types.js';

export function memoryStore(): ClientStore {
  const docs = new Map<string, Uint8Array[]>();
  const intents = new Map<string, Intent[]>();
  const device: DeviceId = newDeviceId();
  return {
    async attach(name, doc) {
      const stored = docs.get(name) ?? [];
      Y.transact(
        doc,
        () => {
          for (const update of stored) Y.applyUpdate(doc, update);
        },
        STORE_ORIGIN,
      );
      const onUpdate = (update: Uint8Array, origin: unknown) => {
        if (origin === STORE_ORIGIN) return;
        const list = docs.get(name) ?? [];
        list.push(update);
        docs.set(name, list);
      };
      doc.on('update', onUpdate);
      return async () => doc.off('update', onUpdate);
    },
    async clear(name) {
      docs.delete(name);
    },
    async names() {
      return [...docs.keys()];
    },
    async loadIntents(name) {
      return structuredClone(intents.get(name) ?? []);
    },
    async saveIntents(name, list) {
      // A copy of each intent as saved (the outbox later sets `written` on its own objects);
      // their values are never changed in place, so a shallow copy is enough. A deep clone
      // here cost O(pending × message size) per save, most of a long burst's time.
      intents.set(
        name,
        list.map((intent) => ({ ...intent })),
      );
    },
    async deviceId() {
      return device;
    },
    async close() {},
  };
}
