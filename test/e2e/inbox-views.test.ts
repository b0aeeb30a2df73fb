/**
 * The server's in-memory view of an inbox (inbox-view.ts) against a device that keeps what it
 * was sent: bounded reconnects, an opening that a failing or slow conversation cannot empty, a
 * join during an opening, and forged view structs. The device is a real socket with its own
 * Y.Doc that answers the server's sync step 1 exactly as y-protocols (the stock provider) does.
 */
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Client } from '../../client/index.js';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import { isViewClient } from '../../server/sync/inbox-view.js';
import { inboxKey, privateKey } from '../../shared/keys.js';
import * as wire from '../../shared/protocol/sync.js';
import { inboxRoots } from '../../shared/schema.js';
import {
  closed,
  id,
  rawSocket,
  sdkClient,
  startTestServer,
  type TestServer,
  tempDir,
  token,
  waitFor,
  wrapStore,
} from '../helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A LevelDB store whose loads of one document can be held or made to fail. */
async function gatedServer(dataDir: string, env: Record<string, string> = {}) {
  const level = await openLeveldbStore(path.join(dataDir, 'docs'));
  const gate = { key: '', mode: 'ok' as 'ok' | 'hold' | 'fail', release: () => {} };
  const store = wrapStore(level, {
    load: async (name) => {
      if (name === gate.key && gate.mode === 'fail') throw new Error('unreadable');
      if (name === gate.key && gate.mode === 'hold')
        await new Promise<void>((resolve) => (gate.release = resolve));
      return level.load(name);
    },
  });
  const ts = await startTestServer({ dataDir, env, overrides: { store } });
  cleanup.push(() => ts.close());
  return { ts, gate };
}

async function client(ts: TestServer, who: string): Promise<Client> {
  const c = await sdkClient(ts.httpUrl, who);
  cleanup.push(() => c.close());
  return c;
}

/**
 * Connects a device holding `doc` to its inbox; resolves once synced with the reply it sent to
 * the server's sync step 1 (what it uploads on reconnecting).
 */
async function connect(ts: TestServer, who: string, doc: Y.Doc) {
  const ws = await rawSocket(`${ts.syncUrl}/${inboxKey(id(who))}?token=${await token(who)}`);
  let reply: Uint8Array | undefined;
  let synced = false;
  const onFrame = (frame: Uint8Array) => {
    const m = wire.readMessage(frame);
    if (m.type === 'sync-step1') {
      reply = Y.encodeStateAsUpdate(doc, m.stateVector);
      ws.send(wire.writeSyncStep2(reply));
    } else if (m.type === 'sync-step2' || m.type === 'update') {
      Y.applyUpdate(doc, m.update);
      if (m.type === 'sync-step2') synced = true;
    }
  };
  ws.received.forEach(onFrame);
  ws.on('message', (data: ArrayBuffer) => onFrame(new Uint8Array(data)));
  ws.send(wire.writeSyncStep1(Y.encodeStateVector(doc)));
  await waitFor(() => synced && reply, 5000, `${who} synced`);
  return { ws, reply: reply!, close: () => ws.close() };
}

const preview = (doc: Y.Doc, key: string) =>
  (inboxRoots(doc).entries.get(key) as { preview?: { text?: string } } | undefined)?.preview?.text;

async function unloaded(ts: TestServer, key: string) {
  await waitFor(() => !ts.server.rooms.peek(key as never), 10_000, `${key} unloaded`);
  await ts.server.inboxes.flush();
}

it('a device does not upload earlier views again on every reconnect, across a restart too', async () => {
  const dataDir = await tempDir();
  let { ts } = await gatedServer(dataDir, { ROOM_IDLE_MS: '50' });
  const device = new Y.Doc();
  const bob = await client(ts, 'bob');
  const chat = await bob.openPrivate('carol');
  const views = 4;
  for (let i = 0; i < views; i++) {
    const { close } = await connect(ts, 'carol', device);
    await chat.send({ content: `m${i}` });
    await waitFor(() => preview(device, chat.key) === `m${i}`, 5000, `m${i} at the device`);
    close();
    await unloaded(ts, inboxKey(id('carol')));
  }
  const first = await connect(ts, 'carol', device);
  const viewStructs = (u: Uint8Array) =>
    Y.decodeUpdate(u).structs.filter((s) => isViewClient(s.id.client)).length;
  expect(viewStructs(first.reply)).toBe(0);
  first.close();
  await bob.close();
  await ts.close();
  cleanup.length = 0;
  ({ ts } = await gatedServer(dataDir));
  const again = await connect(ts, 'carol', device);
  expect(viewStructs(again.reply)).toBe(0);
  expect(preview(device, chat.key)).toBe(`m${views - 1}`);
  again.close();
});

it('a conversation that cannot be read leaves the others of an opening inbox in place', async () => {
  const { ts, gate } = await gatedServer(await tempDir(), { ROOM_IDLE_MS: '50' });
  const device = new Y.Doc();
  const bob = await client(ts, 'bob');
  const dave = await client(ts, 'dave');
  const withBob = await bob.openPrivate('carol');
  const withDave = await dave.openPrivate('carol');
  await withBob.send({ content: 'from bob' });
  await withDave.send({ content: 'from dave' });
  const first = await connect(ts, 'carol', device);
  await waitFor(
    () =>
      preview(device, withBob.key) === 'from bob' && preview(device, withDave.key) === 'from dave',
    5000,
    'both entries',
  );
  first.close();
  await bob.close();
  await unloaded(ts, inboxKey(id('carol')));
  await unloaded(ts, privateKey(id('bob'), id('carol')));

  gate.key = privateKey(id('bob'), id('carol'));
  gate.mode = 'fail';
  await withDave.send({ content: 'dave again' });
  const back = await connect(ts, 'carol', device);
  await waitFor(() => preview(device, withDave.key) === 'dave again', 5000, 'dave’s entry');
  await ts.server.inboxes.flush();
  // The unreadable conversation keeps what the device showed: no tombstone, no deletion.
  expect(preview(device, withBob.key)).toBe('from bob');
  back.close();
});

it('a group joined while an inbox opens keeps its entry', async () => {
  const { ts, gate } = await gatedServer(await tempDir(), { ROOM_IDLE_MS: '50' });
  const bob = await client(ts, 'bob');
  const chat = await bob.openPrivate('carol');
  await chat.send({ content: 'hi' });
  await waitFor(() => chat.messages().every((m) => !m.pending), 5000, 'sent');
  await ts.server.inboxes.flush();
  await bob.close();
  await unloaded(ts, chat.key);

  // Carol's inbox opens; its only conversation is slow to load.
  gate.key = chat.key;
  gate.mode = 'hold';
  const device = new Y.Doc();
  const connecting = connect(ts, 'carol', device);
  await waitFor(() => ts.server.rooms.peek(inboxKey(id('carol'))), 5000, 'inbox loading');
  const alice = await client(ts, 'alice');
  const group = await alice.createGroup({
    name: 'crew',
    members: [{ identity: 'carol', identityType: 1 }],
  });
  await group.send({ content: 'welcome' });
  const inbox = ts.server.rooms.peek(inboxKey(id('carol')))!;
  await waitFor(() => inboxRoots(inbox.doc).entries.has(group.key), 5000, 'a pass showed it');
  gate.mode = 'ok';
  gate.release();
  await connecting;
  await ts.server.inboxes.flush();
  expect(preview(device, group.key)).toBe('welcome');
  expect(preview(device, chat.key)).toBe('hi');
});

it('forged view structs: too many are refused, and none makes a tombstone', async () => {
  const { ts } = await gatedServer(await tempDir(), { MAX_UPDATE_STRUCTS: '1000' });
  const bob = await client(ts, 'bob');
  const chat = await bob.openPrivate('carol');
  await chat.send({ content: 'hi' });
  const device = new Y.Doc();
  const ok = await connect(ts, 'carol', device);
  await waitFor(() => preview(device, chat.key) === 'hi', 5000, 'entry');
  const forged = (n: number) => {
    const fake = new Y.Doc();
    fake.clientID = 2 ** 40 + n;
    for (let i = 0; i < n; i++)
      inboxRoots(fake).entries.set(privateKey(id('carol'), id(`x${i}`)), {} as never);
    return Y.encodeStateAsUpdate(fake);
  };
  const inbox = ts.server.rooms.peek(inboxKey(id('carol')))!;
  const keysHeld = () =>
    (inboxRoots(inbox.doc).entries as unknown as { _map: Map<string, unknown> })._map.size;
  const before = keysHeld();
  ok.ws.send(wire.writeUpdate(forged(500)));
  // A sync step 1 after it: its answer means the server handled the forged frame (in order).
  const seen = ok.ws.received.length;
  ok.ws.send(wire.writeSyncStep1(Y.encodeStateVector(device)));
  await waitFor(
    () => ok.ws.received.slice(seen).some((f) => wire.readMessage(f).type === 'sync-step2'),
    5000,
    'answered',
  );
  await ts.server.rooms.peek(inboxKey(id('carol')))!.drain();
  await ts.server.inboxes.flush();
  expect(keysHeld()).toBe(before);

  const big = await connect(ts, 'carol', new Y.Doc());
  const outcome = closed(big.ws);
  big.ws.send(wire.writeUpdate(forged(1500)));
  expect((await outcome).code).toBeGreaterThanOrEqual(4000);
  expect(keysHeld()).toBe(before);
  ok.close();
});
