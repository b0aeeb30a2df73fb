/**
 * A conversation's log is merged from the room's own document, not read back and replayed: the
 * replay paused a 20k-message room for about a second (bench:room-growth). An inbox's document
 * holds its unpersisted view, so its log is still merged from disk.
 */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import type { CurrentState } from '../../server/store/types.js';
import { inboxKey, privateKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import {
  id,
  postMessage,
  startTestServer,
  syncPeer,
  type TestServer,
  tempDir,
  waitFor,
  wrapStore,
} from '../helpers.js';

let ts: TestServer | undefined;
afterAll(async () => {
  await ts?.close();
});

it("merges a conversation's log from the room's document, and an inbox's from disk", async () => {
  const dataDir = await tempDir();
  const real = await openLeveldbStore(path.join(dataDir, 'docs'));
  const given = new Map<string, CurrentState | undefined>();
  const store = wrapStore(real, {
    compact: (name, current) => {
      given.set(name, current);
      return real.compact(name, current);
    },
    close: () => real.close(),
  });
  ts = await startTestServer({ dataDir, overrides: { store } });
  const chat = privateKey(id('alice'), id('bob'));
  const alice = await syncPeer(ts, chat, 'alice');
  const sent = [1, 2, 3].map((n) => postMessage(alice, 'alice', { content: `hello ${n}` }));
  const room = ts.server.rooms.peek(chat)!;
  await waitFor(
    () => sent.every((m) => conversationRoots(room.doc).stamps.has(m.key)),
    5000,
    'stamped',
  );
  await room.drain();
  expect((await real.load(chat)).length).toBeGreaterThan(1);

  await room.compact();
  const current = given.get(chat);
  expect(current).toBeDefined();
  const stored = await real.load(chat);
  // The very document the room holds (small: the store took it rather than replay the log).
  expect(stored.map((u) => new Uint8Array(u))).toEqual([Y.encodeStateAsUpdate(room.doc)]);
  // The state vector key agrees with it: no second merge when it is asked for.
  expect(new Uint8Array(await real.stateVector(chat))).toEqual(Y.encodeStateVector(room.doc));
  const reloaded = new Y.Doc();
  Y.applyUpdate(reloaded, stored[0]!);
  expect(conversationRoots(reloaded).messages.toJSON()).toEqual(
    conversationRoots(room.doc).messages.toJSON(),
  );
  expect([...conversationRoots(reloaded).stamps.keys()].sort()).toEqual(
    sent.map((m) => m.key).sort(),
  );

  // Appends after the compaction load after it.
  const later = postMessage(alice, 'alice', { content: 'after the merge' });
  await waitFor(() => conversationRoots(room.doc).stamps.has(later.key), 5000, 'stamped later');
  await room.drain();
  const after = new Y.Doc();
  for (const update of await real.load(chat)) Y.applyUpdate(after, update);
  expect(conversationRoots(after).messages.get(later.key)?.content).toBe('after the merge');

  const inbox = inboxKey(id('alice'));
  await syncPeer(ts, inbox, 'alice');
  await waitFor(() => ts!.server.rooms.peek(inbox), 5000, 'inbox loaded');
  await ts.server.rooms.peek(inbox)!.compact();
  expect(given.has(inbox)).toBe(true);
  expect(given.get(inbox)).toBeUndefined();
});
