/**
 * Awareness bookkeeping a socket leaves behind. Found by a robustness review: an awareness update
 * could announce the removal (state null) of clientIDs the room had never seen. Removals skip the
 * per-sender floor, every fresh clientID passed checkAwareness and was recorded in `owners` and
 * in y-protocols' `meta`, and neither was ever cleared: a member could grow the room's memory
 * without bound (11 bytes a removal, for as long as the room stays loaded), and take a reader's
 * clientID for good while the reader was away. Now such a removal is dropped (it removes
 * nothing), and one socket holds at most MAX_AWARENESS_IDS_PER_PEER states.
 */
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_AWARENESS_IDS_PER_PEER } from '../../server/sync/awareness.js';
import { privateKey } from '../../shared/keys.js';
import { closed, id, startTestServer, syncPeer, type TestServer, waitFor } from '../helpers.js';

let ts: TestServer;
const key = privateKey(id('alice'), id('bob'));

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});

/** `count` removals (state null, at `clock`) of clientIDs from `first` on. */
function removals(first: number, count: number, clock = 1): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, count);
  for (let i = 0; i < count; i++) {
    encoding.writeVarUint(e, first + i);
    encoding.writeVarUint(e, clock);
    encoding.writeVarString(e, 'null');
  }
  return encoding.toUint8Array(e);
}

it('keeps no awareness bookkeeping for clientIDs a departed socket only "removed"', async () => {
  const bob = await syncPeer(ts, key, 'bob'); // keeps the room loaded
  const alice = await syncPeer(ts, key, 'alice');
  const room = await ts.server.rooms.open(key, { id: id('bob'), type: 1 });
  const owners = (room as unknown as { presence: { owners: Map<number, unknown> } }).presence
    .owners;
  const PER_FRAME = 100_000; // 1.1 MB per frame, under the 8 MB frame limit
  const FRAMES = 2;
  for (let f = 0; f < FRAMES; f++)
    alice.sendAwareness(removals(1_000_000 + f * PER_FRAME, PER_FRAME));
  // Then a state of alice's own: handled after the removals (one socket's frames go in order).
  const mark = encoding.createEncoder();
  encoding.writeVarUint(mark, 1);
  encoding.writeVarUint(mark, 9_000_000);
  encoding.writeVarUint(mark, 1);
  encoding.writeVarString(mark, JSON.stringify({ typing: false }));
  alice.sendAwareness(encoding.toUint8Array(mark));
  await waitFor(() => room.awareness.getStates().has(9_000_000), 20_000, 'frames handled');
  alice.close();
  await closed(alice.ws);
  await waitFor(() => room.size === 1, 5000, 'alice left');

  // Bob is still served, and nothing of the 200,000 removals is kept for a socket that is gone.
  expect(bob.ws.readyState).toBe(bob.ws.OPEN);
  expect(owners.size).toBe(0);
  expect(room.awareness.meta.size).toBeLessThan(1000);
  bob.close();
}, 60_000);

it("does not let a member take a reader's awareness clientID for good after the reader's blip", async () => {
  const bob = await syncPeer(ts, key, 'bob');
  const VICTIM = 424242; // bob's Yjs clientID: he only reads, and alice sees it in awareness
  const announce = (clock: number) => {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, VICTIM);
    encoding.writeVarUint(e, clock);
    encoding.writeVarString(e, JSON.stringify({ user: { id: 'bob', type: 1 } }));
    return encoding.toUint8Array(e);
  };
  bob.sendAwareness(announce(1));
  const room = await ts.server.rooms.open(key, { id: id('bob'), type: 1 });
  await waitFor(() => room.awareness.getStates().has(VICTIM), 5000, 'bob announced');
  // Bob's network blips: his state is removed (meta clock 2).
  bob.close();
  await closed(bob.ws);
  await waitFor(() => !room.awareness.getStates().has(VICTIM), 5000, 'bob removed');

  // Alice "removes" that clientID once more, with a newer clock: it becomes hers, forever.
  const alice = await syncPeer(ts, key, 'alice');
  alice.sendAwareness(removals(VICTIM, 1, 3));
  await new Promise((r) => setTimeout(r, 300));
  expect(alice.ws.readyState).toBe(alice.ws.OPEN);

  // Bob reconnects with the same document (same clientID) and announces himself again.
  const back = await syncPeer(ts, key, 'bob');
  back.sendAwareness(announce(4));
  const outcome = await Promise.race([
    back.outcome(),
    waitFor(() => room.awareness.getStates().has(VICTIM), 3000, 'bob back').then(() => 'online'),
  ]);
  expect(outcome).toBe('online');
  back.close();
  alice.close();
}, 30_000);

it('closes a socket that publishes more awareness clientIDs than one connection holds', async () => {
  const alice = await syncPeer(ts, key, 'alice');
  const states = (first: number, count: number) => {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, count);
    for (let i = 0; i < count; i++) {
      encoding.writeVarUint(e, first + i);
      encoding.writeVarUint(e, 1);
      encoding.writeVarString(e, JSON.stringify({ typing: false }));
    }
    return encoding.toUint8Array(e);
  };
  const room = await ts.server.rooms.open(key, { id: id('alice'), type: 1 });
  alice.sendAwareness(states(7_000_000, MAX_AWARENESS_IDS_PER_PEER));
  await waitFor(() => room.awareness.getStates().has(7_000_000), 5000, 'within the cap');
  alice.sendAwareness(states(7_100_000, 1));
  const outcome = await alice.outcome();
  expect(outcome.reason).toContain('AWARENESS_REJECTED');
  await waitFor(() => !room.awareness.getStates().has(7_000_000), 5000, 'its states removed');
}, 30_000);

it('a goodbye right after a held comeback still takes the client offline', async () => {
  const alice = await syncPeer(ts, key, 'alice');
  const ID = 8_000_000;
  const entry = (clock: number, state: unknown) => {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, ID);
    encoding.writeVarUint(e, clock);
    encoding.writeVarString(e, JSON.stringify(state));
    return encoding.toUint8Array(e);
  };
  const room = await ts.server.rooms.open(key, { id: id('alice'), type: 1 });
  alice.sendAwareness(entry(1, { typing: false }));
  await waitFor(() => room.awareness.getStates().has(ID), 5000, 'online');
  alice.sendAwareness(entry(2, null)); // gone (a removal is never held)
  await waitFor(() => !room.awareness.getStates().has(ID), 5000, 'offline');
  alice.sendAwareness(entry(3, { typing: false })); // back, within the floor: held
  alice.sendAwareness(entry(4, null)); // and gone again before the floor let it through
  await new Promise((resolve) => setTimeout(resolve, 600)); // past the 250 ms floor
  expect(room.awareness.getStates().has(ID)).toBe(false);
  expect(alice.ws.readyState).toBe(alice.ws.OPEN);
  alice.close();
}, 30_000);
