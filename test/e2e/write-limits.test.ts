/**
 * Bounds on what one member can make the server store and hold, over raw sockets: structs per
 * update, a batch charged in full to the conversation's rate limit, a rate limit on writes that
 * are not messages, and group keys nobody creates not kept loaded. The server clock is the
 * test's, so the rate limits are deterministic.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MessageFormat } from '../../shared/enums.js';
import { newMessageKey } from '../../shared/ids.js';
import { groupKey, privateKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import {
  closed,
  id,
  nthFrame,
  rawSocket,
  startTestServer,
  syncPeer,
  type TestServer,
  token,
  waitFor,
} from '../helpers.js';

let ts: TestServer;
const clock = Date.UTC(2026, 10, 30, 12, 0, 0);

beforeAll(async () => {
  ts = await startTestServer({
    env: {
      RATE_LIMIT_IDENTITY: 'off',
      RATE_LIMIT_CONVERSATION: '100/10s',
      RATE_LIMIT_WRITES: '5/10s',
      MAX_UPDATE_STRUCTS: '2000',
      GENESIS_WINDOW_MS: '200',
    },
    overrides: { now: () => clock },
  });
});
afterAll(async () => {
  await ts.close();
});

function messages(sender: string, count: number) {
  return Array.from({ length: count }, () => {
    const key = newMessageKey();
    return {
      key,
      sender: id(sender),
      senderType: 1,
      format: MessageFormat.Text,
      content: 'batch',
      sentAt: clock,
    };
  });
}

it('refuses an update with more structs than MAX_UPDATE_STRUCTS (4413)', async () => {
  const key = privateKey(id('alice'), id('zoe'));
  const alice = await syncPeer(ts, key, 'alice');
  // 2,001 keys of a per-device root: each one a struct.
  alice.change((doc) => {
    for (let n = 0; n < 2001; n++) conversationRoots(doc).delivered.set(`alice:device-${n}`, 0);
  });
  const outcome = await alice.outcome();
  expect(outcome.code).toBe(4413);
  expect(outcome.rejection?.code).toBe('UPDATE_TOO_LARGE');
  expect(conversationRoots(ts.server.rooms.peek(key)!.doc).delivered.size).toBe(0);
});

it('charges every message of a batch to the conversation: the next sender waits for the debt', async () => {
  const key = privateKey(id('carl'), id('dina'));
  const carl = await syncPeer(ts, key, 'carl');
  const dina = await syncPeer(ts, key, 'dina');
  const batch = messages('carl', 500);
  carl.change((doc) => {
    for (const m of batch) conversationRoots(doc).messages.set(m.key, m);
  });
  const room = ts.server.rooms.peek(key)!;
  await waitFor(() => conversationRoots(room.doc).stamps.size === 500, 5000, 'batch stamped');
  const [next] = messages('dina', 1);
  dina.change((doc) => conversationRoots(doc).messages.set(next!.key, next!));
  const outcome = await dina.outcome();
  expect(outcome.code).toBe(4429);
  // 400 messages over a 100-per-10 s limit: 40 s before the conversation takes another.
  const wait = Number(/retry in (\d+) ms \(conversation limit\)/.exec(outcome.reason)?.[1]);
  expect(wait).toBeGreaterThan(40_000);
  carl.close();
});

it('rate-limits writes that are not messages (read marks here)', async () => {
  const key = privateKey(id('erin'), id('fred'));
  const erin = await syncPeer(ts, key, 'erin');
  const room = ts.server.rooms.peek(key)!;
  for (let n = 0; n < 5; n++) {
    erin.change((doc) => conversationRoots(doc).reads.set(`erin:device-${n}`, 0));
    await waitFor(
      () => conversationRoots(room.doc).reads.has(`erin:device-${n}`),
      5000,
      `read mark ${n}`,
    );
  }
  erin.change((doc) => conversationRoots(doc).reads.set('erin:device-5', 0));
  const outcome = await erin.outcome();
  expect(outcome.code).toBe(4429);
  expect(outcome.reason).toMatch(/^RATE_LIMITED: retry in \d+ ms \(writes limit\)/);
  expect(conversationRoots(room.doc).reads.has('erin:device-5')).toBe(false);
});

it('does not keep rooms for group keys nobody creates', async () => {
  const keys = Array.from({ length: 30 }, () => groupKey());
  // Each socket's close is awaited from the moment it opens: a socket that opened early can be
  // closed (its window is 200 ms) before the last of the thirty has opened.
  const sockets = await Promise.all(
    keys.map(async (key) => {
      const ws = await rawSocket(`${ts.syncUrl}/${key}?token=${await token('mallory')}`);
      return { ws, outcome: closed(ws) };
    }),
  );
  await Promise.all(sockets.map(({ ws }) => nthFrame(ws, 0)));
  const events = await Promise.all(sockets.map(({ outcome }) => outcome));
  for (const event of events) {
    expect(event.code).toBe(4404);
    expect(event.reason).toMatch(/^CONVERSATION_NOT_FOUND/);
  }
  await waitFor(() => keys.every((key) => !ts.server.rooms.peek(key)), 5000, 'rooms unloaded');
  // Nothing was stored for them either.
  const stored = await ts.server.store.list();
  expect(stored.filter((name) => keys.includes(name as never))).toEqual([]);
});

it('does not keep rooms that refused a socket (a stranger naming private chats of others)', async () => {
  const keys = Array.from({ length: 20 }, (_, n) => privateKey(id(`p${n}`), id(`q${n}`)));
  for (const key of keys) {
    const ws = await rawSocket(`${ts.syncUrl}/${key}?token=${await token('mallory')}`);
    const event = await closed(ws);
    expect(event.code).toBe(4404);
  }
  await waitFor(() => keys.every((key) => !ts.server.rooms.peek(key)), 5000, 'rooms unloaded');
});
