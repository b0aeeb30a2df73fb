/**
 * Every conversation that loads gets an inbox pass, which reads each member's list (cold after a
 * restart). A restart's catch-up loads many conversations at once; their passes must take turns
 * (PASS_CONCURRENCY), not all read the lists at the same moment. Here 40 groups of 5 members
 * load together after a restart, with list reads slowed a little: the reads in flight stay
 * within PASS_CONCURRENCY × 5 (before, all 200 were in flight at once), and every list is still
 * right afterwards.
 */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PASS_CONCURRENCY } from '../../server/inbox/inboxes.js';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import type { DocStore } from '../../server/store/types.js';
import type { IdentityId } from '../../shared/ids.js';
import { startTestServer, type TestServer, tempDir } from '../helpers.js';
import { restApi } from '../rest.js';

const GROUPS = 40;
const MEMBERS = 5; // the owner and four others, nobody in two groups

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close().catch(() => {});
});

it('bounds the inbox passes of conversations that load together, and every list stays right', async () => {
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
  let inFlight = 0;
  let most = 0;
  let reads = 0;
  const store: DocStore = {
    ...inner,
    get isOpen() {
      return inner.isOpen;
    },
    getMeta: async (key) => {
      if (!key.startsWith('inbox-list:')) return inner.getMeta(key);
      reads += 1;
      inFlight += 1;
      most = Math.max(most, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 2));
        return await inner.getMeta(key);
      } finally {
        inFlight -= 1;
      }
    },
  };
  const second = await startTestServer({
    dataDir: await tempDir(), // unused: the store is given
    env,
    overrides: { store },
  });
  servers.push(second);
  // A catch-up: every group loads at once.
  const borrowed = await Promise.all([...groups.keys()].map((k) => second.server.rooms.borrow(k)));
  for (const room of borrowed) room.release();
  await new Promise((r) => setTimeout(r, 50)); // the passes fall due
  await second.server.inboxes.flush();

  expect(reads).toBeGreaterThanOrEqual(GROUPS * MEMBERS);
  expect(most).toBeLessThanOrEqual(PASS_CONCURRENCY * MEMBERS);
  for (const [key, members] of groups)
    for (const member of members)
      expect((await second.server.inboxes.lists.get(member as IdentityId)).has(key)).toBe(true);
}, 60_000);
