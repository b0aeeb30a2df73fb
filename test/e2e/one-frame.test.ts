/**
 * Issue 13, item 5: a message accepted from one peer reaches every other peer of the room as one
 * sync frame (the client's update merged with the server's stamp), not one frame for the update
 * and another for its stamp. The writer of a small step hears the same frame (as the stock
 * y-websocket server echoes every update to its sender); of a large one, its stamps alone. Update
 * and stamps are one server transaction, which keeps the server's clientID (a remote
 * transaction that moves it makes Yjs pick a new one).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MessageFormat } from '../../shared/enums.js';
import { newMessageKey } from '../../shared/ids.js';
import { privateKey } from '../../shared/keys.js';
import * as wire from '../../shared/protocol/sync.js';
import { conversationRoots, type Message, SERVER_AUTHOR } from '../../shared/schema.js';
import { id, startTestServer, syncPeer, type TestServer, waitFor } from '../helpers.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(() => ts.close());

/** Update frames a raw socket received after `from` (sync step 2 and updates alike). */
function updates(frames: Uint8Array[], from: number): Uint8Array[] {
  return frames
    .slice(from)
    .map((f) => wire.readMessage(f))
    .flatMap((m) => (m.type === 'update' ? [m.update] : []));
}

it('sends each accepted message to the other peer as one frame holding message and stamp', async () => {
  const key = privateKey(id('alice'), id('bob'));
  const alice = await syncPeer(ts, key, 'alice');
  const bob = await syncPeer(ts, key, 'bob');
  await waitFor(() => conversationRoots(alice.doc).meta.has('conversationId'), 5000, 'genesis');
  const sent = 5;
  const bobFrom = bob.ws.received.length;
  const aliceFrom = alice.ws.received.length;
  const keys: string[] = [];
  for (let i = 0; i < sent; i++) {
    const message: Message = {
      key: newMessageKey(),
      sender: id('alice'),
      senderType: 1,
      format: MessageFormat.Text,
      content: `hello ${i}`,
      sentAt: Date.now(),
    };
    keys.push(message.key);
    alice.change((doc) => conversationRoots(doc).messages.set(message.key, message));
    // One at a time, so each message is its own step.
    await waitFor(
      () => conversationRoots(bob.doc).stamps.has(message.key),
      5000,
      `message ${i} stamped at bob`,
    );
  }
  await waitFor(() => keys.every((k) => conversationRoots(alice.doc).stamps.has(k)), 5000, 'acks');
  const toBob = updates(bob.ws.received, bobFrom);
  expect(toBob).toHaveLength(sent);
  // Each of bob's frames holds a whole message: its text and its stamp (both keyed by it).
  keys.forEach((k, i) => {
    const keyed = Y.decodeUpdate(toBob[i]!).structs.filter(
      (s) => s instanceof Y.Item && s.parentSub === k,
    );
    expect(keyed).toHaveLength(2);
  });
  // The writer's frames hold its stamps (and its own message, which it already had).
  const toAlice = updates(alice.ws.received, aliceFrom);
  expect(toAlice).toHaveLength(sent);
  keys.forEach((k, i) => {
    const keyed = Y.decodeUpdate(toAlice[i]!).structs.filter(
      (s) => s instanceof Y.Item && s.parentSub === k,
    );
    expect(keyed).toHaveLength(2);
  });
  // Every stamp came from one server clientID: the room's own never changed under it.
  const room = await ts.server.rooms.borrow(key);
  try {
    const servers = await room.read((doc) =>
      [...conversationRoots(doc).clients.values()].filter((owner) => owner === SERVER_AUTHOR),
    );
    expect(servers).toHaveLength(1);
  } finally {
    room.release();
  }
  alice.close();
  bob.close();
});

it('does not echo a large message to its writer: the writer hears its stamp alone', async () => {
  const key = privateKey(id('carol'), id('dave'));
  const carol = await syncPeer(ts, key, 'carol');
  const dave = await syncPeer(ts, key, 'dave');
  await waitFor(() => conversationRoots(carol.doc).meta.has('conversationId'), 5000, 'genesis');
  const carolFrom = carol.ws.received.length;
  const daveFrom = dave.ws.received.length;
  const message: Message = {
    key: newMessageKey(),
    sender: id('carol'),
    senderType: 1,
    format: MessageFormat.Text,
    content: 'x'.repeat(4900),
    sentAt: Date.now(),
  };
  carol.change((doc) => conversationRoots(doc).messages.set(message.key, message));
  await waitFor(() => conversationRoots(carol.doc).stamps.has(message.key), 5000, 'stamp at carol');
  await waitFor(() => conversationRoots(dave.doc).stamps.has(message.key), 5000, 'at dave');
  const toDave = updates(dave.ws.received, daveFrom);
  const toCarol = updates(carol.ws.received, carolFrom);
  expect(toDave).toHaveLength(1);
  expect(toDave[0]!.byteLength).toBeGreaterThan(4900);
  expect(toCarol).toHaveLength(1);
  // The stamp (and nothing of the text): a mobile sender does not download its message again.
  expect(toCarol[0]!.byteLength).toBeLessThan(1000);
});
