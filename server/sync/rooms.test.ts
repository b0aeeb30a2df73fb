import { afterAll, beforeAll, expect, it } from 'vitest';
import { groupKey, privateKey } from '../../shared/keys.js';
import { id, startTestServer, type TestServer } from '../../test/helpers.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ env: { ROOM_IDLE_MS: '50' } });
});
afterAll(() => ts.close());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('keeps a borrowed room loaded while another borrower of it releases, until the last release', async () => {
  const rooms = ts.server.rooms;
  const key = groupKey();
  const held = await rooms.borrow(key);
  const brief = await rooms.borrow(key);
  brief.release();
  brief.release(); // twice: must not count as the other borrower's release
  await pause(300); // six idle periods
  expect(rooms.peek(key)?.doc).toBe(held.doc);
  held.release();
  await pause(300);
  expect(rooms.peek(key)).toBeUndefined();
});

it('keeps a room loaded for the whole of a use, and lets it unload after', async () => {
  const rooms = ts.server.rooms;
  const key = groupKey();
  const alice = { id: 'alice', type: 1 } as Parameters<typeof rooms.use>[1];
  const doc = await rooms.use(key, alice, async (room) => {
    const borrowed = await rooms.borrow(key);
    borrowed.release(); // another holder's release starts no unload under this use
    await pause(300); // six idle periods
    expect(rooms.peek(key)).toBe(room);
    return room.doc;
  });
  expect(rooms.peek(key)?.doc).toBe(doc);
  await pause(300);
  expect(rooms.peek(key)).toBeUndefined();
});

it('refuses a join that waited past an unload, instead of joining a room nobody serves', async () => {
  const rooms = ts.server.rooms;
  const alice = { id: 'alice', type: 1 } as Parameters<typeof rooms.open>[1];
  const key = privateKey(id('alice'), id('bob')); // alice may read it: only the unload refuses
  const opened = await rooms.open(key, alice); // a socket's open, not yet joined
  rooms.borrow(key).then((b) => b.release()); // another holder's release starts the idle timer
  await pause(300);
  expect(rooms.peek(key)).toBeUndefined();
  const peer = { identity: alice, acks: false, send: () => {}, close: () => {} };
  await expect(opened.join(peer)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  expect(opened.size).toBe(0);
});
