/**
 * An inbox pass whose list write fails (a full disk for a moment, in cluster mode a Postgres
 * error) runs again after a backoff, and at the latest when the server stops. Before, it was
 * only logged: the member's list lacked the conversation until the conversation changed again.
 */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import { id, startTestServer, type TestServer, tempDir, waitFor, wrapStore } from '../helpers.js';
import { restApi } from '../rest.js';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close().catch(() => {});
});

/**
 * A server on a fresh directory whose first write of `identity`'s inbox list is refused, with a
 * group of alice's created on it for `members`.
 */
async function refusingFirstListWrite(identity: string, members: string[]) {
  const dataDir = await tempDir();
  const level = await openLeveldbStore(path.join(dataDir, 'docs'));
  let refused = 0;
  const store = wrapStore(level, {
    setMeta: async (key, value) => {
      if (key === `inbox-list:${identity}` && refused++ === 0)
        throw new Error('disk full, for now');
      return level.setMeta(key, value);
    },
  });
  const ts = await startTestServer({ dataDir, overrides: { store } });
  servers.push(ts);
  const { conversationKey: key } = await restApi(() => ts).data(
    'POST',
    '/conversations/group',
    'alice',
    { name: 'a group', members: members.map((identityId) => ({ identityId, identityType: 1 })) },
  );
  return { ts, dataDir, key, refused: () => refused };
}

it('runs a pass again when a list write failed, and the list gets the conversation', async () => {
  // Carol's list cannot be written the first time.
  const { ts, key, refused } = await refusingFirstListWrite('carol', ['bob', 'carol']);
  await waitFor(() => refused() > 0, 5000, 'the refused list write');
  // Nothing changes in the group after: only the retry can write her list.
  await waitFor(
    async () => (await ts.server.inboxes.lists.get(id('carol'))).has(key),
    5000,
    "carol's list",
  );
  expect(refused()).toBe(2);
  expect((await ts.server.inboxes.lists.get(id('bob'))).has(key)).toBe(true);
}, 30_000);

it('a pass that failed just before a shutdown gets its retry during the shutdown', async () => {
  const { ts: first, dataDir, key, refused } = await refusingFirstListWrite('dora', ['dora']);
  await first.close(); // within the retry's 500 ms
  expect(refused()).toBe(2);
  const second = await startTestServer({ dataDir });
  servers.push(second);
  expect((await second.server.inboxes.lists.get(id('dora'))).has(key)).toBe(true);
  expect(second.server.rooms.peek(key)).toBeUndefined(); // not repaired by a load here
}, 30_000);
