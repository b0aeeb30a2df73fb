/**
 * The server's own Yjs clientID for a conversation: the same at every load of it in one process
 * (Yjs's cost per transaction grows with every clientID a document ever had), a new one in the
 * next process (it may have lost writes clients hold: stamp.ts, resumeServerClient). A load that
 * follows an unloaded room of the same document waits for that room's last append.
 */
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import { ConvosyncError } from '../../shared/errors.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots, SERVER_AUTHOR } from '../../shared/schema.js';
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
afterEach(async () => {
  await ts?.close();
  ts = undefined;
});

const env = { ROOM_IDLE_MS: '50' };
const key = privateKey(id('ann'), id('bob'));

/** The clientIDs bound to the server that wrote something, as a reader sees the document. */
function serverClients(doc: Y.Doc): number[] {
  const { clients } = conversationRoots(doc);
  return [...Y.decodeStateVector(Y.encodeStateVector(doc)).keys()].filter(
    (c) => clients.get(String(c)) === SERVER_AUTHOR,
  );
}

/** Ann posts one message, sees it stamped, leaves; resolves once the room has unloaded. */
async function round(server: TestServer, content: string): Promise<string> {
  const peer = await syncPeer(server, key, 'ann');
  const message = postMessage(peer, 'ann', { content });
  await waitFor(() => conversationRoots(peer.doc).stamps.has(message.key), 5000, 'stamped');
  peer.close();
  await waitFor(() => server.server.rooms.peek(key) === undefined, 5000, 'room unloaded');
  return message.key;
}

it('stamps with one server clientID per process, across unloads', async () => {
  const dataDir = await tempDir();
  ts = await startTestServer({ dataDir, env });
  const keys = [await round(ts, 'one'), await round(ts, 'two'), await round(ts, 'three')];
  let reader = await syncPeer(ts, key, 'bob');
  expect(keys.map((k) => conversationRoots(reader.doc).stamps.get(k)?.seq)).toEqual([1, 2, 3]);
  const first = serverClients(reader.doc);
  expect(first).toHaveLength(1); // genesis and three stamps, four loads: one clientID
  reader.close();
  await ts.close();

  // The next process writes with a clientID of its own.
  ts = await startTestServer({ dataDir, env });
  keys.push(await round(ts, 'four'));
  reader = await syncPeer(ts, key, 'bob');
  expect(conversationRoots(reader.doc).stamps.get(keys[3]!)?.seq).toBe(4);
  const second = serverClients(reader.doc);
  expect(second).toHaveLength(2);
  expect(second).toContain(first[0]);
  reader.close();
});

/**
 * A server whose room of `key` was dropped (cluster mode: ownership lost) while its server write
 * `meta[field] = value` was held in the store on its way to disk.
 */
async function droppedWhileWriting(field: string, value: string) {
  const dataDir = await tempDir();
  const level = await openLeveldbStore(path.join(dataDir, 'docs'));
  let gate: Promise<void> | undefined;
  const store = wrapStore(level, {
    append: async (name, update) => {
      const held = gate;
      gate = undefined;
      await held;
      return level.append(name, update);
    },
  });
  ts = await startTestServer({ dataDir, env, overrides: { store } });
  await round(ts, 'one');
  const rooms = ts.server.rooms;
  let release = () => {};
  gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const dropped = await rooms.borrow(key);
  const stuckClient = dropped.doc.clientID;
  const writing = dropped
    .write('probe', (doc) => {
      conversationRoots(doc).meta.set(field, value);
      return true;
    })
    .catch(() => undefined);
  await waitFor(() => gate === undefined, 5000, 'append held');
  rooms.evict(key, new ConvosyncError('FENCED'));
  dropped.release();
  return { level, rooms, release, writing, stuckClient };
}

it('loads a document again only after the dropped room’s last append is on disk', async () => {
  const { level, rooms, release, writing } = await droppedWhileWriting('probe', 'before the drop');
  // The next load waits for that append: its document holds the write, and goes on after it.
  const next = rooms.borrow(key);
  await new Promise((resolve) => setTimeout(resolve, 100));
  release();
  const room = await next;
  await writing;
  expect(conversationRoots(room.doc).meta.get('probe')).toBe('before the drop');
  await room.write('probe', (doc) => {
    conversationRoots(doc).meta.set('probe', 'after');
    return true;
  });
  await room.compact(); // from the room's copy: it must not drop the earlier append's content
  room.release();
  const stored = new Y.Doc();
  for (const update of await level.load(key)) Y.applyUpdate(stored, update);
  expect(conversationRoots(stored).meta.get('probe')).toBe('after');
  expect(serverClients(stored)).toHaveLength(1);
  expect(Y.encodeStateVector(stored)).toEqual(Y.encodeStateVector(room.doc));
});

/** A room dropped with its append held in the store, and a load after it (waits 5 s, unsettled). */
async function stuckThenLoaded() {
  const { level, rooms, release, writing, stuckClient } = await droppedWhileWriting(
    'stuck',
    'late',
  );
  const started = Date.now();
  const unsettled = await rooms.borrow(key); // the stuck append is still held
  expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
  expect(unsettled.doc.clientID).not.toBe(stuckClient);
  expect(conversationRoots(unsettled.doc).meta.get('stuck')).toBeUndefined();
  return { level, rooms, unsettled, release, writing };
}

it('loads for reading only when the dropped room’s append does not finish, then again with it', async () => {
  const { level, rooms, unsettled, release, writing } = await stuckThenLoaded();
  // It reads, but writes nothing: its document lacks the held write (a seq given out twice).
  await expect(
    unsettled.write('probe', (doc) => {
      conversationRoots(doc).meta.set('probe', 'unsettled');
      return true;
    }),
  ).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  unsettled.release();
  release();
  await writing;
  // The next load holds the late write and writes again.
  const room = await rooms.borrow(key);
  expect(conversationRoots(room.doc).meta.get('stuck')).toBe('late');
  await room.write('probe', (doc) => {
    conversationRoots(doc).meta.set('probe', 'after');
    return true;
  });
  await room.compact();
  room.release();
  const stored = new Y.Doc();
  for (const update of await level.load(key)) Y.applyUpdate(stored, update);
  expect(conversationRoots(stored).meta.get('stuck')).toBe('late');
  expect(conversationRoots(stored).meta.get('probe')).toBe('after');
}, 20_000);

it('drops an unsettled room once the write it lacks is done', async () => {
  const { rooms, unsettled, release, writing } = await stuckThenLoaded();
  const loaded = rooms.peek(key);
  expect(loaded?.isUnsettled).toBe(true);
  release();
  await writing;
  await waitFor(() => rooms.peek(key) !== loaded, 5000, 'unsettled room dropped');
  unsettled.release();
  const room = await rooms.borrow(key);
  expect(conversationRoots(room.doc).meta.get('stuck')).toBe('late');
  room.release();
}, 20_000);

it('refuses a write through a room that was unloaded', async () => {
  const dataDir = await tempDir();
  ts = await startTestServer({ dataDir, env });
  await round(ts, 'one');
  const peer = await syncPeer(ts, key, 'ann');
  const stale = ts.server.rooms.peek(key)!; // a holder the idle timer does not count
  peer.close();
  await waitFor(() => ts!.server.rooms.peek(key) === undefined, 5000, 'room unloaded');
  await expect(
    stale.serverWrite('probe', (doc) => {
      conversationRoots(doc).meta.set('probe', 'stale');
      return true;
    }),
  ).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  const room = await ts.server.rooms.borrow(key);
  expect(conversationRoots(room.doc).meta.get('probe')).toBeUndefined();
  room.release();
});
