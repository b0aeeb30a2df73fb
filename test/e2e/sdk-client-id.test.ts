/**
 * An SDK app restarted on the same device goes on writing a conversation with the clientID its
 * last clean session used, so a conversation gets one clientID per device, not one per session
 * (Yjs's cost per transaction grows with every clientID a document ever had).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import type { Client } from '../../client/index.js';
import { leveldbStore } from '../../client/store/leveldb.js';
import { memoryStore } from '../../client/store/memory.js';
import { conversationRoots } from '../../shared/schema.js';
import { id, sdkClient, startTestServer, type TestServer, tempDir, waitFor } from '../helpers.js';

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

it('shows the device online again after a restart that goes on with its clientID', async () => {
  const bob = await sdkClient(ts.httpUrl, 'bob');
  open.push(bob);
  const seenByBob = await bob.openPrivate('carol');
  await seenByBob.whenSynced();
  const storage = memoryStore();
  const session = async () => {
    const carol = await sdkClient(ts.httpUrl, 'carol', { storage });
    const conversation = await carol.openPrivate('bob');
    await conversation.whenSynced();
    await conversation.send({ content: 'hi' });
    await waitFor(() => conversation.messages().some((m) => !m.pending), 10_000, 'accepted');
    await waitFor(() => seenByBob.presence.online().includes(id('carol')), 5000, 'online');
    // What ten minutes of presence renewals (every 15 s) do to the presence clock.
    const { awareness } = (conversation as unknown as { provider: WebsocketProvider }).provider;
    for (let i = 0; i < 40; i++) awareness.setLocalState({ ...awareness.getLocalState() });
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { carol, client: conversation.doc.clientID };
  };
  const first = await session();
  await first.carol.close();
  await waitFor(() => !seenByBob.presence.online().includes(id('carol')), 5000, 'offline');

  const second = await session();
  expect(second.client).toBe(first.client);
  // Bob hears carol's presence under that clientID (not only a state announced before it).
  const bobSees = (seenByBob as unknown as { provider: WebsocketProvider }).provider.awareness;
  await waitFor(() => bobSees.getStates().has(first.client), 5000, 'presence under the clientID');
  await second.carol.close();
});

// The server's state vector (its sync step 1) is checked too, for a write made before the rest
// arrives; without that, Yjs itself moves the document to a new clientID when the server's
// structs of the old one arrive, which is what this sequence shows.
it('starts with a new clientID when the device’s store lost writes the server has', async () => {
  const dir = path.join(await tempDir(), 'dave');
  const backup = `${dir}-backup`;
  const bob = await sdkClient(ts.httpUrl, 'bob');
  open.push(bob);
  const seenByBob = await bob.openPrivate('dave');
  const session = async (text: string) => {
    const dave = await sdkClient(ts.httpUrl, 'dave', { storage: await leveldbStore(dir) });
    const conversation = await dave.openPrivate('bob');
    await conversation.whenSynced();
    await conversation.send({ content: text });
    await waitFor(
      () => conversation.messages().find((m) => m.content === text && !m.pending),
      10_000,
      `${text} accepted`,
    );
    const client = conversation.doc.clientID;
    await dave.close();
    return client;
  };
  const first = await session('one');
  await fs.cp(dir, backup, { recursive: true });
  expect(await session('two')).toBe(first);
  // The device is restored from the backup taken after 'one': its store lacks 'two'.
  await fs.rm(dir, { recursive: true });
  await fs.rename(backup, dir);
  const third = await session('three');
  expect(third).not.toBe(first);
  await waitFor(() => seenByBob.messages().length === 3, 10_000, 'bob has the three');
  expect(seenByBob.messages().map((m) => [m.content, m.stamp?.seq])).toEqual([
    ['one', 1],
    ['two', 2],
    ['three', 3],
  ]);
});
