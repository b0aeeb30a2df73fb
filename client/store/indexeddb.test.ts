// fake-indexeddb is a complete IndexedDB implementation in JS: the same y-indexeddb and
// lib0/indexeddb code paths a browser runs (the browser itself is covered by the web app tests).
import 'fake-indexeddb/auto';
import { indexeddbStore } from './indexeddb.js';
import { runClientStoreSuite } from './store.case.js';

let n = 0;
runClientStoreSuite('indexeddb', async () => {
  const prefix = `test-${process.pid}-${n++}`;
  return { store: await indexeddbStore(prefix), reopen: () => indexeddbStore(prefix) };
});
