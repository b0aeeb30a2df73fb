/**
 * A conversation loaded again (after its room went idle, after a restart) is written with the
 * server clientID it already has, not a new one per load: Yjs's cost per transaction grows with
 * every clientID a document ever had (stamp.ts, resumeServerClient).
 */
import { afterEach, expect, it } from 'vitest';
import * as Y from 'yjs';
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
} from '../helpers.js';

let ts: TestServer | undefined;
afterEach(async () => {
  await ts?.close();
  ts = undefined;
});

const serverClients = (doc: Y.Doc) =>
  [...conversationRoots(doc).clients.entries()].filter(([, author]) => author === SERVER_AUTHOR);

it('stamps with one server clientID across unloads and restarts', async () => {
  const dataDir = await tempDir();
  const env = { ROOM_IDLE_MS: '50' };
  const key = privateKey(id('ann'), id('bob'));
  const keys: string[] = [];
  const round = async () => {
    const peer = await syncPeer(ts!, key, 'ann');
    const message = postMessage(peer, 'ann', { content: `hello ${keys.length}` });
    keys.push(message.key);
    await waitFor(() => conversationRoots(peer.doc).stamps.has(message.key), 5000, 'stamped');
    peer.close();
    // The room unloads once idle: the next round loads it again.
    await waitFor(() => ts!.server.rooms.peek(key) === undefined, 5000, 'room unloaded');
  };
  ts = await startTestServer({ dataDir, env });
  await round();
  await round();
  await ts.close();
  ts = await startTestServer({ dataDir, env });
  await round();

  const reader = await syncPeer(ts, key, 'bob');
  const { stamps } = conversationRoots(reader.doc);
  expect(keys.map((k) => stamps.get(k)?.seq)).toEqual([1, 2, 3]);
  const server = serverClients(reader.doc);
  expect(server).toHaveLength(1);
  // Every struct the server wrote (genesis, three stamps) is under that one clientID.
  const sv = Y.decodeStateVector(Y.encodeStateVector(reader.doc));
  const { clients } = conversationRoots(reader.doc);
  const written = [...sv.keys()].filter((c) => clients.get(String(c)) === SERVER_AUTHOR);
  expect(written).toEqual([Number(server[0]![0])]);
  reader.close();
});
