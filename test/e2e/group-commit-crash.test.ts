/**
 * Group commit under kill -9: sixteen rooms stream messages at once into a server running as a
 * child process, so their appends share LevelDB batches (the server's batch metric shows it),
 * and the server is killed with SIGKILL mid-stream. After a restart on the same DATA_DIR every
 * message any writer had seen stamped is there with the same stamp, and the rest arrive once
 * the writers reconnect, each room gapless, no id reused.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import type { Client, Conversation } from '../../client/index.js';
import type { MessageView } from '../../shared/conversation.js';
import { freePort, killed, startChild } from '../child-server.js';
import { metric, sdkClient, tempDir, waitFor } from '../helpers.js';

const children: ChildProcess[] = [];
const clients: Client[] = [];
afterAll(async () => {
  for (const c of clients) await c.close();
  for (const child of children) child.kill('SIGKILL');
});

const ROOMS = 16;
const PER_ROOM = 150;
const acked = (list: readonly MessageView[]) => list.filter((m) => !m.pending);

/** Sum and count of the convosync_store_batch_writes histogram. */
async function batchWrites(url: string): Promise<{ sum: number; count: number }> {
  return {
    sum: await metric(url, 'convosync_store_batch_writes_sum'),
    count: await metric(url, 'convosync_store_batch_writes_count'),
  };
}

it('keeps every acknowledged message of many rooms writing at once across kill -9', async () => {
  const dataDir = await tempDir();
  const port = await freePort();
  const env = { SNAPSHOTS: 'off', RATE_LIMIT_CONVERSATION: 'off' };
  let child = await startChild(dataDir, port, env);
  children.push(child);
  const url = `http://127.0.0.1:${port}`;

  const writers: Conversation[] = [];
  for (let r = 0; r < ROOMS; r++) {
    const client = await sdkClient(url, `writer${r}`, { maxBackoffMs: 200 });
    clients.push(client);
    const conv = await client.openPrivate(`reader${r}`);
    await conv.whenSynced();
    writers.push(conv);
  }
  const before = await batchWrites(url);

  // Every room streams at once; the server dies once a third of everything is acknowledged.
  const sending = writers.map(async (conv, r) => {
    for (let i = 0; i < PER_ROOM; i++) {
      await conv.send({ content: `r${r} m${i}` });
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1));
    }
  });
  const ackedCount = () => writers.reduce((n, c) => n + acked(c.messages()).length, 0);
  await waitFor(() => ackedCount() >= (ROOMS * PER_ROOM) / 3, 30_000, 'a third acknowledged');
  const during = await batchWrites(url);
  await killed(child);
  const ackedAtKill = writers.map(
    (c) => new Map(acked(c.messages()).map((m) => [m.key, m.stamp!])),
  );
  await Promise.all(sending);

  // The rooms' appends shared batches: more writes than batches. (A room's updates that queue
  // up behind its write go as one append, so there are fewer writes than messages.)
  const writes = during.sum - before.sum;
  const batches = during.count - before.count;
  expect(writes).toBeGreaterThanOrEqual(ROOMS);
  expect(writes).toBeGreaterThan(batches);
  expect(ackedAtKill.filter((m) => m.size > 0).length).toBeGreaterThan(ROOMS / 2);

  child = await startChild(dataDir, port, env);
  children.push(child);
  for (let r = 0; r < ROOMS; r++) {
    const reader = await sdkClient(url, `reader${r}`);
    clients.push(reader);
    const conv = await reader.openPrivate(`writer${r}`);
    await conv.whenSynced();
    const seen = new Map(conv.messages().map((m) => [m.key, m.stamp]));
    for (const [key, stamp] of ackedAtKill[r]!) expect(seen.get(key)).toEqual(stamp);
    // The writer's provider reconnects by itself and delivers the rest.
    const all = await waitFor(
      () => {
        const list = conv.messages();
        return list.length === PER_ROOM && list.every((m) => !m.pending) ? list : undefined;
      },
      30_000,
      `room ${r} complete after the restart`,
    );
    expect(all.map((m) => m.stamp!.seq)).toEqual(Array.from({ length: PER_ROOM }, (_, i) => i + 1));
    expect(new Set(all.map((m) => m.stamp!.id)).size).toBe(PER_ROOM);
  }
  await killed(child);
}, 120_000);
