/**
 * Upgrading keeps inboxes: a data directory from before inbox lists (test/fixtures/datadir-v0,
 * where alice's inbox document stores her entries) has no list for anyone. A message in one of
 * alice's conversations must not make her list just that conversation: when she opens her inbox
 * it still shows every conversation it showed before.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { id, sdkClient, startTestServer, tempDir, waitFor } from '../helpers.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/datadir-v0', import.meta.url));

it('a message after an upgrade keeps every conversation of an old inbox', async () => {
  const dataDir = await tempDir();
  await fs.cp(path.join(FIXTURE, 'docs'), path.join(dataDir, 'docs'), { recursive: true });
  const expected = JSON.parse(await fs.readFile(path.join(FIXTURE, 'expected.json'), 'utf8')) as {
    conversations: Record<string, unknown>;
  };
  const keys = Object.keys(expected.conversations).sort();
  const group = keys.find((k) => k.startsWith('group_'))!;
  const ts = await startTestServer({ dataDir });
  const bob = await sdkClient(ts.httpUrl, 'bob');
  let alice: Awaited<ReturnType<typeof sdkClient>> | undefined;
  try {
    const conv = await bob.open(group);
    await conv.whenSynced();
    await conv.send({ content: 'after the upgrade' });
    await waitFor(() => conv.messages().every((m) => !m.pending), 10_000, 'sent');
    await ts.server.inboxes.flush();
    expect([...(await ts.server.inboxes.lists.get(id('alice')))].sort()).toEqual(keys);

    alice = await sdkClient(ts.httpUrl, 'alice');
    const inbox = await alice.inbox();
    await waitFor(
      () => inbox.list().some((e) => e.preview?.text === 'after the upgrade'),
      10_000,
      'the group’s new preview',
    );
    await ts.server.inboxes.flush();
    expect(
      inbox
        .list()
        .map((e) => e.key)
        .sort(),
    ).toEqual(keys);
  } finally {
    await alice?.close();
    await bob.close();
    await ts.close();
  }
});
