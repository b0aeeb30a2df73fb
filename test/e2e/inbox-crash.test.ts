/**
 * A member added just before a kill -9: the group's creation was acknowledged (durable), but the
 * server died before its inbox pass wrote the members' lists (held back here by
 * INBOX_DEBOUNCE_MS, as a busy server's pass may be). After the restart alice's client
 * reconnects and the group loads, and a loaded conversation gets a pass that writes the lists
 * that lack it: bob's inbox lists the group although nothing was written in it since. Before, it
 * was missing from his inbox until the group's next change. (The projection's catch-up after a
 * restart loads such a conversation too, when its projection was behind.)
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { conversationRoots } from '../../shared/schema.js';
import { freePort, killed, startChild } from '../child-server.js';
import { sdkClient, tempDir, waitFor } from '../helpers.js';

const children: ChildProcess[] = [];
const clients: Client[] = [];
afterAll(async () => {
  for (const c of clients) await c.close();
  for (const child of children) child.kill('SIGKILL');
});

it('lists a group for a member its creation added just before a kill -9', async () => {
  const dataDir = await tempDir();
  const port = await freePort();
  // No snapshot tables: nothing but alice's reconnecting client loads the group after the kill.
  const plain = { SNAPSHOTS: 'off' };
  const held = { ...plain, INBOX_DEBOUNCE_MS: '20000', INBOX_MAX_DELAY_MS: '40000' };
  const first = await startChild(dataDir, port, held);
  children.push(first);
  const url = `http://127.0.0.1:${port}`;
  const alice = await sdkClient(url, 'alice', { maxBackoffMs: 200 });
  clients.push(alice);
  const group = await alice.createGroup({
    name: 'made just before the crash',
    members: [{ identity: 'bob', identityType: 1 }],
  });
  await group.whenSynced();
  // Acknowledged: the server stamped the creation notice, so the genesis is on disk.
  await waitFor(() => conversationRoots(group.doc).stamps.size > 0, 10_000, 'genesis stamped');
  await killed(first);

  const second = await startChild(dataDir, port, plain);
  children.push(second);
  const bob = await sdkClient(url, 'bob');
  clients.push(bob);
  const inbox = await bob.inbox();
  await inbox.whenSynced();
  await waitFor(
    () => inbox.list().some((e) => e.key === group.key),
    15_000,
    'the group in bob’s inbox',
  );
  expect(inbox.list().find((e) => e.key === group.key)?.name).toBe('made just before the crash');
}, 60_000);
