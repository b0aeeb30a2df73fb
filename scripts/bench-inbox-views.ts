/**
 * What a device uploads when it reconnects to its inbox after many server views
 * (server/sync/inbox-view.ts): each view (an inbox load) pushed entries with its own clientID.
 * Without the earlier views' clocks in the server's state vector, the device's sync step 2 holds
 * every struct of every earlier view, on every reconnect; with them it holds none. Also the
 * event-loop time the server spends dropping those structs (withoutView) per reconnect.
 *   npm run bench:inbox-views
 */
import * as Y from 'yjs';
import { withoutView } from '../server/sync/inbox-view.js';
import { inboxRoots } from '../shared/schema.js';

const KEYS = 50;
for (const [views, pushes] of [
  [10, 200],
  [100, 2_000],
] as const) {
  const device = new Y.Doc();
  inboxRoots(device);
  const announced = new Map<number, number>();
  for (let v = 0; v < views; v++) {
    const view = new Y.Doc();
    view.clientID = 2 ** 42 + v;
    const entries = inboxRoots(view).entries;
    for (let p = 0; p < pushes; p++)
      entries.set(`private_a_${p % KEYS}`, {
        type: 1,
        lastActiveTime: p,
        unread: p,
        status: 1,
        notify: true,
        preview: { sender: 'b', format: 0, text: `message ${p}`, recalled: false, system: false },
      } as never);
    Y.applyUpdate(device, Y.encodeStateAsUpdate(view));
    announced.set(view.clientID, Y.getState(view.store, view.clientID));
  }
  const server = new Y.Doc(); // holds no view: views are never stored
  const before = Y.encodeStateAsUpdate(device, Y.encodeStateVector(server));
  const after = Y.encodeStateAsUpdate(device, Y.encodeStateVector(announced));
  const start = process.hrtime.bigint();
  withoutView(before, Number.MAX_SAFE_INTEGER);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(
    `${views} views x ${pushes} pushes: reconnect upload without announced views ` +
      `${(before.byteLength / 1024).toFixed(0)} KiB, ${Y.decodeUpdate(before).structs.length} structs, ` +
      `dropped in ${ms.toFixed(0)} ms; with them ${after.byteLength} bytes, ` +
      `${Y.decodeUpdate(after).structs.length} structs`,
  );
}
