/**
 * A shutdown stops the sockets' input and lets what they sent become durable before the inbox
 * closes: a change written while the server shuts down still gets its inbox pass. Here an
 * invitation's append is held on a slow disk while the server is asked to stop; once it is
 * written, the invitee's inbox list (durable) names the group, read after a restart without
 * loading the conversation. Before, the inbox closed first and the pass of that change never
 * ran: the list lacked the group until the conversation loaded again somewhere.
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

it('gives a change that becomes durable during a shutdown its inbox pass', async () => {
  const dataDir = await tempDir();
  const level = await openLeveldbStore(path.join(dataDir, 'docs'));
  let hold: Promise<void> | undefined;
  let held = 0;
  const store = wrapStore(level, {
    append: async (name, update) => {
      if (hold) {
        held += 1;
        await hold;
      }
      return level.append(name, update);
    },
  });
  const first = await startTestServer({ dataDir, overrides: { store } });
  servers.push(first);
  const api = restApi(() => first);
  const { conversationKey: key } = await api.data('POST', '/conversations/group', 'alice', {
    name: 'a group',
    members: [{ identityId: 'bob', identityType: 1 }],
  });
  await first.server.inboxes.flush();

  let release!: () => void;
  hold = new Promise((resolve) => (release = resolve));
  const invited = api.call('POST', `/conversations/${key}/members`, 'alice', {
    identityId: 'carol',
    identityType: 1,
  });
  await waitFor(() => held > 0, 5000, 'the invitation waiting on the disk');
  const closed = first.close();
  await new Promise((resolve) => setTimeout(resolve, 100)); // the shutdown is under way
  hold = undefined;
  release();
  await closed;
  expect((await invited).status).toBe(200);

  const second = await startTestServer({ dataDir });
  servers.push(second);
  expect((await second.server.inboxes.lists.get(id('carol'))).has(key)).toBe(true);
  // Written by the first server's last pass, not by a load of the conversation here.
  expect(second.server.rooms.peek(key)).toBeUndefined();
}, 30_000);
