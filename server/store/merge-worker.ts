/**
 * @module The body of the merge thread (merge-thread.ts starts it): replays a document's stored
 * updates into one Y.Doc and encodes its state, the CPU-heavy half of a compaction, away from
 * the thread that serves the sync sockets.
 */
import { parentPort } from 'node:worker_threads';
import * as Y from 'yjs';
import type { FromMerge, ToMerge } from './merge-thread.js';

const port = parentPort!;
port.on('message', ({ id, name, updates }: ToMerge) => {
  let reply: FromMerge;
  let transfer: ArrayBuffer[] = [];
  try {
    const doc = new Y.Doc({ guid: name }); // a guid of its own: no random uuid to draw
    doc.transact(() => {
      for (const update of updates) Y.applyUpdate(doc, update);
    });
    if (doc.store.pendingStructs || doc.store.pendingDs)
      throw new Error(`stored document ${name} has missing dependencies`);
    const update = Y.encodeStateAsUpdate(doc);
    const stateVector = Y.encodeStateVector(doc);
    doc.destroy();
    reply = { id, update, stateVector };
    transfer = [update.buffer as ArrayBuffer, stateVector.buffer as ArrayBuffer];
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply, transfer);
});
