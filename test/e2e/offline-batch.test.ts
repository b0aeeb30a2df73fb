/**
 * A client writes 200 messages while disconnected (SDK, LevelDB local store), reconnects, and
 * the other side receives all 200, each stamped exactly once, in one seq order that both see.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { leveldbStore } from '../../client/store/leveldb.js';
import type { MessageView } from '../../shared/conversation.js';
import { sdkClient, startTestServer, type TestServer, tempDir, waitFor } from '../helpers.js';

let ts: TestServer;
const clients: Client[] = [];

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await ts.close();
});

async function client(identity: string): Promise<Client> {
  const storage = await leveldbStore(path.join(await tempDir(), 'local'));
  const c = await sdkClient(ts.httpUrl, identity, { storage });
  clients.push(c);
  return c;
}

const stamped = (list: readonly MessageView[], n: number) =>
  list.length === n && list.every((m) => !m.pending) ? list : undefined;

it('delivers 200 offline messages, each stamped once, in the same order on both sides', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  const convA = await alice.openPrivate('bob');
  const convB = await bob.openPrivate('alice');
  await convA.whenSynced();
  await convB.whenSynced();

  alice.goOffline();
  await waitFor(() => convA.status !== 'connected', 5000, 'alice offline');
  for (let i = 0; i < 200; i++) await convA.send({ content: `offline ${i}` });
  const local = convA.messages();
  expect(local).toHaveLength(200);
  expect(local.every((m) => m.pending)).toBe(true);
  expect(local.map((m) => m.content)).toEqual(
    Array.from({ length: 200 }, (_, i) => `offline ${i}`),
  );
  expect(convA.pendingIntents()).toHaveLength(200);
  // Bob has seen nothing while Alice is offline.
  await new Promise((r) => setTimeout(r, 200));
  expect(convB.messages()).toHaveLength(0);

  alice.goOnline();
  const listA = await waitFor(
    () => stamped(convA.messages(), 200),
    15_000,
    'alice sees 200 stamped',
  );
  const listB = await waitFor(() => stamped(convB.messages(), 200), 15_000, 'bob sees 200 stamped');

  expect(listA.map((m) => m.stamp!.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  expect(listB.map((m) => [m.key, m.stamp!.seq, m.stamp!.id])).toEqual(
    listA.map((m) => [m.key, m.stamp!.seq, m.stamp!.id]),
  );
  // seq follows the order Alice wrote them in.
  expect(listB.map((m) => m.content)).toEqual(
    Array.from({ length: 200 }, (_, i) => `offline ${i}`),
  );
  expect(new Set(listB.map((m) => m.stamp!.id)).size).toBe(200);
  // Confirmed intents leave the outbox.
  await waitFor(() => convA.pendingIntents().length === 0, 5000, 'outbox drained');

  // The server holds each message once: a reconnect (sync step 2 re-sent) does not stamp again.
  alice.goOffline();
  alice.goOnline();
  await convA.whenSynced();
  await new Promise((r) => setTimeout(r, 200));
  const again = convB.messages();
  expect(again).toHaveLength(200);
  expect(Math.max(...again.map((m) => m.stamp!.seq))).toBe(200);
});
