/**
 * Issue 13, item 4: inbox entries are derived, computed when an inbox opens and pushed to open
 * inboxes, never stored. A device that was offline (across a server restart, so the server's
 * view of its inbox is a new one) sees after reconnecting exactly what a fresh device sees:
 * new previews and unread counts, and no entry for a group it was removed from meanwhile.
 */
import { expect, it } from 'vitest';
import * as Y from 'yjs';
import type { InboxItem } from '../../client/inbox.js';
import { memoryStore } from '../../client/store/memory.js';
import { inboxKey } from '../../shared/keys.js';
import { inboxRoots } from '../../shared/schema.js';
import { id, sdkClient, startTestServer, tempDir, waitFor } from '../helpers.js';

const view = (items: readonly InboxItem[]) =>
  items.map((e) => ({ key: e.key, unread: e.unread, preview: e.preview?.text })).sort();

it('an offline device finds its inbox as a fresh device does, and no entry is stored', async () => {
  const dataDir = await tempDir();
  let ts = await startTestServer({ dataDir });
  const device = memoryStore();
  const clients = [] as Array<{ close(): Promise<void> }>;
  const client = async (who: string, storage = memoryStore()) => {
    const c = await sdkClient(ts.httpUrl, who, { storage });
    clients.push(c);
    return c;
  };
  try {
    const alice = await client('alice');
    const bob = await client('bob');
    let carol = await client('carol', device);
    const group = await alice.createGroup({
      name: 'crew',
      members: [
        { identity: 'carol', identityType: 1 },
        { identity: 'bob', identityType: 1 },
      ],
    });
    await group.send({ content: 'hello crew' });
    const chat = await bob.openPrivate('carol');
    await chat.send({ content: 'hi carol' });
    const inbox = await carol.inbox();
    await waitFor(
      () => inbox.list().filter((e) => e.unread === 1).length === 2,
      10_000,
      'both entries at carol',
    );
    await carol.close();

    // Offline: a message, a removal, a restart, more messages.
    await chat.send({ content: 'are you there?' });
    await group.remove(id('carol'));
    await group.send({ content: 'carol is out' });
    await waitFor(() => group.messages().every((m) => !m.pending), 5000, 'group sent');
    await waitFor(() => chat.messages().every((m) => !m.pending), 5000, 'chat sent');
    for (const c of clients.splice(0)) await c.close();
    await ts.close();
    ts = await startTestServer({ dataDir });
    const bob2 = await client('bob');
    const chat2 = await bob2.openPrivate('carol');
    await chat2.whenSynced();
    await chat2.send({ content: 'last one' });
    await waitFor(() => chat2.messages().every((m) => !m.pending), 5000, 'sent after restart');
    await ts.server.inboxes.flush();

    carol = await client('carol', device);
    const back = await carol.inbox();
    const fresh = await (await client('carol')).inbox();
    const expected = [{ key: chat.key, unread: 3, preview: 'last one' }];
    await waitFor(
      () => JSON.stringify(view(fresh.list())) === JSON.stringify(expected),
      10_000,
      'fresh',
    );
    await waitFor(
      () => JSON.stringify(view(back.list())) === JSON.stringify(expected),
      10_000,
      'back',
    );
    expect(view(back.list())).toEqual(view(fresh.list()));

    // Nothing of the entries is on disk: only what the identity and the bindings wrote.
    const stored = new Y.Doc();
    for (const update of await ts.server.store.load(inboxKey(id('carol'))))
      Y.applyUpdate(stored, update);
    expect([...inboxRoots(stored).entries.keys()]).toEqual([]);
  } finally {
    for (const c of clients.splice(0)) await c.close();
    await ts.close();
  }
});
