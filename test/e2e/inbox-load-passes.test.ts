/**
 * Every conversation that loads gets an inbox pass, which reads each member's list (cold after a
 * restart). A restart's catch-up loads many conversations at once; their passes must take turns
 * (PASS_CONCURRENCY), not all read the lists at the same moment. Here 40 groups of 5 members
 * load together after a restart, with list reads slowed a little: the reads in flight stay
 * within PASS_CONCURRENCY × 5 (before, all 200 were in flight at once), and every list is still
 * right afterwards. A message into a group whose catch-up pass still waits for a slot makes that
 * pass live: it runs before the catch-up passes waiting with it (before, it waited its turn).
 */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PASS_CONCURRENCY } from '../../server/inbox/inboxes.js';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import type { IdentityId } from '../../shared/ids.js';
import { startTestServer, type TestServer, tempDir, waitFor, wrapStore } from '../helpers.js';
import { restApi } from '../rest.js';

const GROUPS = 40;
const MEMBERS = 5; // the owner and four others, nobody in two groups

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close().catch(() => {});
});

/**
 * 40 groups written by a first server, then a second server on the same documents whose list
 * reads take `readMs` (and wait while `seen.hold` is set) and are counted and recorded in order.
 */
async function restarted(readMs: number) {
  const env = { INBOX_DEBOUNCE_MS: '5', INBOX_MAX_DELAY_MS: '20' };
  const first = await startTestServer({ env });
  servers.push(first);
  const groups = new Map<string, string[]>();
  for (let g = 0; g < GROUPS; g++) {
    const members = Array.from({ length: MEMBERS }, (_, m) => `g${g}m${m}`);
    const created = await restApi(() => first).data('POST', '/conversations/group', members[0]!, {
      name: `group of ${members[0]}`,
      members: members.slice(1).map((identityId) => ({ identityId, identityType: 1 })),
    });
    groups.set(created.conversationKey, members);
  }
  await first.server.inboxes.flush();
  await first.close();

  // The same data directory, with list reads that take a moment and are counted.
  const inner = await openLeveldbStore(path.join(first.dataDir, 'docs'));
  const seen = {
    inFlight: 0,
    most: 0,
    reads: 0,
    order: [] as string[],
    hold: undefined as Promise<void> | undefined,
  };
  const store = wrapStore(inner, {
    getMeta: async (key) => {
      if (!key.startsWith('inbox-list:')) return inner.getMeta(key);
      seen.reads += 1;
      seen.order.push(key.slice('inbox-list:'.length));
      seen.inFlight += 1;
      seen.most = Math.max(seen.most, seen.inFlight);
      try {
        await new Promise((r) => setTimeout(r, readMs));
        await seen.hold;
        return await inner.getMeta(key);
      } finally {
        seen.inFlight -= 1;
      }
    },
  });
  const second = await startTestServer({
    dataDir: await tempDir(), // unused: the store is given
    env,
    overrides: { store },
  });
  servers.push(second);
  /** A catch-up: every group loads at once. */
  const loadAll = async () => {
    const keys = [...groups.keys()];
    const borrowed = await Promise.all(keys.map((k) => second.server.rooms.borrow(k)));
    for (const room of borrowed) room.release();
    return keys;
  };
  return { groups, seen, second, loadAll };
}

it('bounds the inbox passes of conversations that load together, and every list stays right', async () => {
  const { groups, seen, second, loadAll } = await restarted(2);
  await loadAll();
  await new Promise((r) => setTimeout(r, 50)); // the passes fall due
  await second.server.inboxes.flush();

  expect(seen.reads).toBeGreaterThanOrEqual(GROUPS * MEMBERS);
  expect(seen.most).toBeLessThanOrEqual(PASS_CONCURRENCY * MEMBERS);
  for (const [key, members] of groups)
    for (const member of members)
      expect((await second.server.inboxes.lists.get(member as IdentityId)).has(key)).toBe(true);
}, 60_000);

it('runs the waiting catch-up pass of a group that gets a message before the other catch-up passes', async () => {
  const { groups, seen, second, loadAll } = await restarted(1);
  // The list reads wait until released: the first PASS_CONCURRENCY passes hold every slot.
  let release!: () => void;
  seen.hold = new Promise((r) => (release = r));
  const keys = await loadAll();
  await waitFor(() => (seen.inFlight === PASS_CONCURRENCY * MEMBERS ? true : undefined));
  // The group loaded last waits for a slot, behind every other catch-up pass; it gets a message.
  const last = keys.at(-1)!;
  const members = groups.get(last)!;
  await restApi(() => second).data('POST', '/messages/group', members[1]!, {
    conversationKey: last,
    content: 'hello while the server catches up',
  });
  await new Promise((r) => setTimeout(r, 100)); // the change's pass falls due (debounce 5–20 ms)
  release();
  seen.hold = undefined;
  await second.server.inboxes.flush();

  // Groups in the order their pass first read a member's list.
  const groupOf = new Map([...groups].flatMap(([key, ids]) => ids.map((id) => [id, key])));
  const passOrder = [...new Set(seen.order.map((id) => groupOf.get(id)))];
  expect(passOrder).toHaveLength(GROUPS);
  // Only the passes that held the slots went before it (it used to run last).
  expect(passOrder.indexOf(last)).toBe(PASS_CONCURRENCY);
  for (const member of members)
    expect((await second.server.inboxes.lists.get(member as IdentityId)).has(last)).toBe(true);
}, 60_000);
