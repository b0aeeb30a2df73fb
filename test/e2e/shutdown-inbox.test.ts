/**
 * A shutdown stops the sockets' input and lets what they sent become durable before the inbox
 * closes (Rooms.quiesce): a change written while the server shuts down still gets its inbox
 * pass, and once input stopped nothing else is written: no socket joins, no REST write, no
 * write through a borrowed room (in cluster mode, one relayed from another node). Here an
 * invitation's append is held on a slow disk while the server is asked to stop; once it is
 * written, the invitee's inbox list (durable) names the group, read after a restart without
 * loading the conversation. Before, the inbox closed first and the pass of that change never
 * ran: the list lacked the group until the conversation loaded again somewhere.
 */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import { ConvosyncError } from '../../shared/errors.js';
import {
  closed,
  id,
  rawSocket,
  startTestServer,
  type TestServer,
  tempDir,
  token,
  waitFor,
  wrapStore,
} from '../helpers.js';
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

it('once input stopped, refuses joins and writes with SHUTTING_DOWN, and still serves reads', async () => {
  const ts = await startTestServer();
  servers.push(ts);
  const api = restApi(() => ts);
  const { conversationKey: key } = await api.data('POST', '/conversations/group', 'alice', {
    name: 'a group',
    members: [{ identityId: 'bob', identityType: 1 }],
  });
  const member = await rawSocket(`${ts.syncUrl}/${key}?token=${await token('bob')}`);
  await waitFor(() => member.received.length > 0, 5000, 'bob joined');
  // Another group, not loaded when the input stops (a shutdown's last pass may load one).
  const { conversationKey: other } = await api.data('POST', '/conversations/group', 'alice', {
    name: 'another group',
    members: [{ identityId: 'bob', identityType: 1 }],
  });
  ts.server.rooms.evict(other, new ConvosyncError('SHUTTING_DOWN'));
  expect(ts.server.rooms.peek(other)).toBeUndefined();

  await ts.server.rooms.quiesce(new ConvosyncError('SHUTTING_DOWN'));
  expect((await closed(member)).code).toBe(4503);
  const late = await rawSocket(`${ts.syncUrl}/${key}?token=${await token('alice')}`);
  expect((await closed(late)).code).toBe(4503);
  const posted = await api.call('POST', '/messages/group', 'alice', {
    conversationKey: key,
    content: 'after the shutdown began',
  });
  expect(posted.status).toBe(503);
  for (const [k, name] of [
    [key, 'a group'],
    [other, 'another group'], // loaded now, after the input stopped
  ] as const) {
    const room = await ts.server.rooms.borrow(k);
    try {
      await expect(room.write('test', () => true)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
      expect(await room.read((doc) => doc.getMap('meta').get('name'))).toBe(name);
    } finally {
      room.release();
    }
  }
});
