/**
 * Persistence comes before broadcast, and a failing store loses nothing: the server runs on a
 * real LevelDB store behind a switch that can hold or fail appends.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import type { MessageView } from '../../shared/conversation.js';
import { privateKey } from '../../shared/keys.js';
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

let ts: TestServer;
const clients: Client[] = [];
let mode: 'ok' | 'hold' | 'fail' = 'ok';
/** Every append held meanwhile (the message's room and the inboxes it updates), not only the last. */
const held: Array<() => void> = [];
const release = () => {
  for (const resolve of held.splice(0)) resolve();
};

beforeAll(async () => {
  const dataDir = await tempDir();
  const level = await openLeveldbStore(path.join(dataDir, 'docs'));
  const switched = wrapStore(level, {
    append: async (name, update) => {
      if (mode === 'fail') throw new Error('disk on fire');
      if (mode === 'hold') await new Promise<void>((resolve) => held.push(resolve));
      return level.append(name, update);
    },
    // A full disk refuses every write, the small server-only values too.
    setMeta: async (key, value) => {
      if (mode === 'fail') throw new Error('ENOSPC: no space left on device');
      return level.setMeta(key, value);
    },
  });
  ts = await startTestServer({
    dataDir,
    env: { STORAGE_PROBE_MS: '50' },
    overrides: { store: switched },
  });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await ts.close();
});

async function client(identity: string): Promise<Client> {
  const c = await sdkClient(ts.httpUrl, identity, { maxBackoffMs: 100 });
  clients.push(c);
  return c;
}

const contents = (list: readonly MessageView[]) => list.map((m) => m.content);

it('does not broadcast an update before it is durable, and recovers from failed writes', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  const convA = await alice.openPrivate('bob');
  const convB = await bob.openPrivate('alice');
  await convA.whenSynced();
  await convB.whenSynced();

  // Held append: Bob must not see the message while it is not on disk.
  mode = 'hold';
  await convA.send({ content: 'held' });
  await new Promise((r) => setTimeout(r, 300));
  expect(contents(convB.messages())).toEqual([]);
  mode = 'ok';
  release();
  await waitFor(
    () => convB.messages().length === 1 && !convB.messages()[0]!.pending,
    5000,
    'held message delivered',
  );

  // Failed append: the room is dropped, sockets closed with a retryable code, nothing lost.
  mode = 'fail';
  const errors: string[] = [];
  convA.on('error', (e) => errors.push(e.code));
  await convA.send({ content: 'during outage' });
  await waitFor(() => convA.status !== 'connected', 5000, 'alice disconnected by the failure');
  await new Promise((r) => setTimeout(r, 300));
  expect(contents(convB.messages())).toEqual(['held']);
  const health = await fetch(`${ts.httpUrl}/health`);
  expect(health.status).toBe(200); // the server stays up
  mode = 'ok';
  const list = await waitFor(
    () => {
      const l = convB.messages();
      return l.length === 2 && l.every((m) => !m.pending) ? l : undefined;
    },
    10_000,
    'message from the outage delivered after recovery',
  );
  expect(contents(list)).toEqual(['held', 'during outage']);
  expect(list.map((m) => m.stamp!.seq)).toEqual([1, 2]);
  // 45xx closes are transient: the SDK reported nothing permanent.
  expect(errors).toEqual([]);
});

it('goes unready while writes fail and ready again once they succeed', async () => {
  const ready = async () => {
    const response = await fetch(`${ts.httpUrl}/ready`);
    const body = (await response.json()) as { data: { storage: string } };
    return { status: response.status, storage: body.data.storage };
  };
  const health = async () => {
    const response = await fetch(`${ts.httpUrl}/health`);
    return ((await response.json()) as { data: { storage: string; storageError?: string } }).data;
  };
  expect(await ready()).toEqual({ status: 200, storage: 'open' });
  const alice = await client('alice');
  const conv = await alice.openPrivate('carol');
  await conv.whenSynced();

  mode = 'fail';
  await conv.send({ content: 'while the disk is full' });
  let seen: { status: number; storage: string } | undefined;
  for (let i = 0; i < 250 && seen?.status !== 503; i++) {
    seen = await ready();
    if (seen.status !== 503) await new Promise((r) => setTimeout(r, 20));
  }
  expect(seen).toEqual({ status: 503, storage: 'failing' });
  // The probe keeps failing too: readiness stays red while the disk is full.
  await new Promise((r) => setTimeout(r, 200));
  expect(await ready()).toEqual({ status: 503, storage: 'failing' });
  expect(await health()).toMatchObject({
    storage: 'failing',
    storageError: expect.stringMatching(/disk on fire|ENOSPC/),
  });

  mode = 'ok';
  for (let i = 0; i < 250 && seen?.status !== 200; i++) {
    seen = await ready();
    if (seen.status !== 200) await new Promise((r) => setTimeout(r, 20));
  }
  expect(seen).toEqual({ status: 200, storage: 'open' });
  expect((await health()).storage).toBe('open');
  await waitFor(
    () => conv.messages().some((m) => m.content === 'while the disk is full' && !m.pending),
    10_000,
    'the message written during the outage is accepted afterwards',
  );
});

it('closes with 4503 a socket whose join could not write (its identity type), never leaving it joined to the dropped room', async () => {
  const alice = await client('alice');
  const conv = await alice.openPrivate('dave');
  await conv.whenSynced();

  // Dave (type 1) was written with type 0 by the genesis: joining writes his type, and that fails.
  mode = 'fail';
  const dave = await rawSocket(
    `${ts.syncUrl}/${privateKey(id('alice'), id('dave'))}?token=${await token('dave')}`,
  );
  const outcome = await Promise.race([
    closed(dave),
    new Promise<'still open'>((r) => setTimeout(() => r('still open'), 3000)),
  ]);
  mode = 'ok';
  if (outcome === 'still open') dave.close();
  expect(outcome).toMatchObject({ code: 4503 });
});
