/**
 * kill -9 right after messages were acknowledged: the server runs as a child process, is killed
 * with SIGKILL while a client is streaming messages, and restarted on the same DATA_DIR. Every
 * message the client had seen stamped (acknowledged) is there with the same stamp, and the
 * client's unacknowledged messages arrive after it reconnects, with no seq or id reused.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import type { MessageView } from '../../shared/conversation.js';
import { freePort, killed, startChild as start } from '../child-server.js';
import { sdkClient, tempDir, waitFor } from '../helpers.js';

const children: ChildProcess[] = [];
const clients: Client[] = [];
afterAll(async () => {
  for (const c of clients) await c.close();
  for (const child of children) child.kill('SIGKILL');
});

async function startChild(dataDir: string, port: number): Promise<ChildProcess> {
  const child = await start(dataDir, port);
  children.push(child);
  return child;
}

const acked = (list: readonly MessageView[]) => list.filter((m) => !m.pending);

it('keeps every acknowledged message across kill -9 and delivers the rest after restart', async () => {
  const dataDir = await tempDir();
  const port = await freePort();
  let child = await startChild(dataDir, port);
  const url = `http://127.0.0.1:${port}`;
  const alice = await sdkClient(url, 'alice', { maxBackoffMs: 200 });
  clients.push(alice);
  const conv = await alice.openPrivate('bob');
  await conv.whenSynced();

  // Stream 300 messages, one update each, and kill the server once 100 are acknowledged.
  const total = 300;
  const sending = (async () => {
    for (let i = 0; i < total; i++) {
      await conv.send({ content: `m${i}` });
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1));
    }
  })();
  await waitFor(() => acked(conv.messages()).length >= 100, 20_000, '100 acknowledged');
  await killed(child);
  const ackedAtKill = new Map(acked(conv.messages()).map((m) => [m.key, m.stamp!]));
  expect(ackedAtKill.size).toBeGreaterThanOrEqual(100);
  await sending;

  // A fresh reader on the restarted server sees every acknowledged message with its stamp.
  child = await startChild(dataDir, port);
  const bob = await sdkClient(url, 'bob');
  clients.push(bob);
  const convB = await bob.openPrivate('alice');
  await convB.whenSynced();
  const seen = new Map(convB.messages().map((m) => [m.key, m.stamp]));
  for (const [key, stamp] of ackedAtKill) expect(seen.get(key)).toEqual(stamp);

  // Alice's provider reconnects by itself and delivers the rest.
  const all = await waitFor(
    () => {
      const list = convB.messages();
      return list.length === total && list.every((m) => !m.pending) ? list : undefined;
    },
    20_000,
    'all 300 stamped on the restarted server',
  );
  expect(all.map((m) => m.stamp!.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(new Set(all.map((m) => m.stamp!.id)).size).toBe(total);
  expect(all.map((m) => m.content)).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
  await killed(child);
}, 180_000);
