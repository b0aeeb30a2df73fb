/**
 * An SDK app restarted on the same device goes on writing a conversation with the clientID its
 * last clean session used, so a conversation gets one clientID per device, not one per session
 * (Yjs's cost per transaction grows with every clientID a document ever had).
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { leveldbStore } from '../../client/store/leveldb.js';
import { conversationRoots } from '../../shared/schema.js';
import { sdkClient, startTestServer, type TestServer, tempDir, waitFor } from '../helpers.js';

let ts: TestServer;
const open: Client[] = [];
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  for (const c of open) await c.close().catch(() => undefined);
  await ts.close();
});

it('writes with one clientID per device across app restarts', async () => {
  const dir = path.join(await tempDir(), 'alice');
  const bob = await sdkClient(ts.httpUrl, 'bob');
  open.push(bob);
  const seenByBob = await bob.openPrivate('alice');
  const session = async (text: string) => {
    const alice = await sdkClient(ts.httpUrl, 'alice', { storage: await leveldbStore(dir) });
    const conversation = await alice.openPrivate('bob');
    await conversation.whenSynced();
    await conversation.send({ content: text });
    await waitFor(
      () => conversation.messages().find((m) => m.content === text && !m.pending),
      10_000,
      `${text} accepted`,
    );
    const client = conversation.doc.clientID;
    await alice.close();
    return client;
  };
  const clients = [await session('one'), await session('two'), await session('three')];
  expect(new Set(clients).size).toBe(1);

  await waitFor(() => seenByBob.messages().length === 3, 10_000, 'bob has the three');
  const bound = [...conversationRoots(seenByBob.doc).clients.entries()].filter(
    ([, author]) => author === 'alice',
  );
  expect(bound.map(([client]) => Number(client))).toEqual([clients[0]]);
  expect(seenByBob.messages().map((m) => [m.content, m.stamp?.seq])).toEqual([
    ['one', 1],
    ['two', 2],
    ['three', 3],
  ]);
});
