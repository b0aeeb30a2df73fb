/**
 * The SDK's local persistence: messages sent offline survive an app restart (same LevelDB
 * directory, still offline), are shown as pending, and go out once the app is online again.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { leveldbStore } from '../../client/store/leveldb.js';
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

it('keeps offline messages across an app restart and sends them when online', async () => {
  const dir = path.join(await tempDir(), 'alice');
  // First run: offline from the start; the private chat does not exist on the server yet.
  const first = await sdkClient(ts.httpUrl, 'alice', {
    storage: await leveldbStore(dir),
    offline: true,
  });
  const conv1 = await first.openPrivate('bob');
  for (const text of ['one', 'two', 'three']) await conv1.send({ content: text });
  expect(conv1.messages().map((m) => [m.content, m.pending])).toEqual([
    ['one', true],
    ['two', true],
    ['three', true],
  ]);
  await first.close();

  // Second run, still offline: everything is still there, still pending.
  const second = await sdkClient(ts.httpUrl, 'alice', {
    storage: await leveldbStore(dir),
    offline: true,
  });
  open.push(second);
  const conv2 = await second.openPrivate('bob');
  expect(conv2.messages().map((m) => [m.content, m.pending])).toEqual([
    ['one', true],
    ['two', true],
    ['three', true],
  ]);
  expect(conv2.pendingIntents()).toHaveLength(3);

  // Online: the server creates the conversation and accepts the three, in order.
  const bob = await sdkClient(ts.httpUrl, 'bob');
  open.push(bob);
  const convB = await bob.openPrivate('alice');
  second.goOnline();
  const seen = await waitFor(
    () => {
      const l = convB.messages();
      return l.length === 3 && l.every((m) => !m.pending) ? l : undefined;
    },
    10_000,
    'bob receives the three',
  );
  expect(seen.map((m) => [m.content, m.stamp!.seq])).toEqual([
    ['one', 1],
    ['two', 2],
    ['three', 3],
  ]);
  await waitFor(() => conv2.pendingIntents().length === 0, 5000, 'outbox confirmed');
});
