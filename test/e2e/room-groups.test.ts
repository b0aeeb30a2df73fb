/**
 * A room's updates that arrive while its previous write is on its way are judged and applied
 * one by one, as alone, then written as one append (Room.applyInbound): seq, stamps, the feed
 * and what every peer hears are as if each had been written alone; only the writes are fewer.
 */
import { afterEach, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Change } from '../../server/feed/types.js';
import { newMessageKey } from '../../shared/ids.js';
import { groupKey, privateKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import {
  id,
  metric,
  postMessage,
  startTestServer,
  syncPeer,
  type TestServer,
  waitFor,
} from '../helpers.js';

let ts: TestServer | undefined;
afterEach(async () => {
  await ts?.close();
  ts = undefined;
});

/** Store write requests so far (the convosync_store_batch_writes histogram's sum). */
const storeWrites = (url: string) => metric(url, 'convosync_store_batch_writes_sum');

/** The document as stored: what a restart would load. */
async function storedDoc(key: string): Promise<Y.Doc> {
  const stored = new Y.Doc();
  for (const update of await ts!.server.store.load(key)) Y.applyUpdate(stored, update);
  return stored;
}

it('updates that queue behind a write go as one append, each stamped, published and heard as alone', async () => {
  ts = await startTestServer({
    env: { RATE_LIMIT_IDENTITY: 'off', RATE_LIMIT_CONVERSATION: 'off', SNAPSHOTS: 'off' },
  });
  const key = privateKey(id('alice'), id('bob'));
  const alice = await syncPeer(ts, key, 'alice');
  const bob = await syncPeer(ts, key, 'bob');
  const changes: Change[] = [];
  ts.server.feed.subscribe((change) => {
    if (change.doc === key && change.messages.length > 0) changes.push(change);
  });
  const before = await storeWrites(ts.httpUrl);

  // 60 updates of one message each, sent in one go: most arrive while a write is under way.
  const keys = Array.from(
    { length: 60 },
    (_, i) => postMessage(alice, 'alice', { content: `m${i}` }).key as string,
  );
  const stamps = conversationRoots(bob.doc).stamps;
  await waitFor(() => keys.every((k) => stamps.has(k)), 10_000, 'bob has every stamp');

  // Seq in the order they were sent, from the first after the chat's creation, no gap.
  const first = stamps.get(keys[0]!)!.seq;
  expect(keys.map((k) => stamps.get(k)!.seq)).toEqual(keys.map((_, i) => first + i));
  expect(new Set(keys.map((k) => stamps.get(k)!.id)).size).toBe(60);
  // Alice's own document has them too (her echo), and both agree with the room's.
  const room = ts.server.rooms.peek(key)!;
  await waitFor(
    () => keys.every((k) => conversationRoots(alice.doc).stamps.get(k)?.seq !== undefined),
    10_000,
    'alice has every stamp',
  );
  for (const k of keys)
    expect(conversationRoots(room.doc).stamps.get(k)).toEqual(
      conversationRoots(alice.doc).stamps.get(k),
    );
  // The feed: one change per update, in seq order, each naming its own message.
  expect(changes.map((c) => c.messages.map((m) => m.key))).toEqual(keys.map((k) => [k]));
  // Fewer writes than updates: the ones that queued up shared an append.
  await room.drain();
  const writes = (await storeWrites(ts.httpUrl)) - before;
  expect(writes).toBeGreaterThan(0);
  expect(writes).toBeLessThan(60);
  // What is on disk is what everyone heard: every message with the stamp bob has.
  const stored = await storedDoc(key);
  expect(stored.store.pendingStructs).toBeNull();
  for (const k of keys) {
    expect(conversationRoots(stored).stamps.get(k)).toEqual(stamps.get(k));
    expect(conversationRoots(stored).messages.get(k)?.content).toBe(
      conversationRoots(bob.doc).messages.get(k)?.content,
    );
  }
});

it('an update that cannot be judged closes its socket; what was applied before it is written and heard first', async () => {
  ts = await startTestServer({
    env: { RATE_LIMIT_IDENTITY: 'off', RATE_LIMIT_CONVERSATION: 'off', SNAPSHOTS: 'off' },
  });
  // A conversation whose stored document cannot load (an update whose dependency is missing):
  // judging a forward from it fails with an error, not a refusal.
  const broken = groupKey();
  const source = new Y.Doc();
  source.getMap('meta').set('name', 'one');
  const first = Y.encodeStateVector(source);
  source.getMap('meta').set('name', 'two');
  await ts.server.store.append(broken, Y.encodeStateAsUpdate(source, first));

  const key = privateKey(id('alice'), id('bob'));
  const alice = await syncPeer(ts, key, 'alice');
  const bob = await syncPeer(ts, key, 'bob');
  // Two messages, then a forward from the broken conversation, all sent at once.
  const sent = [
    postMessage(alice, 'alice', { content: 'one' }),
    postMessage(alice, 'alice', { content: 'two' }),
  ];
  postMessage(alice, 'alice', {
    content: 'fwd',
    forwardedFrom: { conversation: broken, key: newMessageKey() },
  });
  const outcome = await alice.outcome();
  expect(outcome.code).toBe(4500);
  // Bob heard the two messages before it, stamped, and they are on disk as he has them.
  const stamps = conversationRoots(bob.doc).stamps;
  await waitFor(() => sent.every((m) => stamps.has(m.key)), 10_000, 'bob has both stamps');
  const room = ts.server.rooms.peek(key)!;
  await room.drain();
  const stored = await storedDoc(key);
  expect(stored.store.pendingStructs).toBeNull();
  for (const m of sent)
    expect(conversationRoots(stored).stamps.get(m.key)).toEqual(stamps.get(m.key));
  // The room goes on: bob writes, and it lands after them.
  const later = postMessage(bob, 'bob', { content: 'later' });
  await waitFor(() => conversationRoots(room.doc).stamps.has(later.key), 10_000, 'bob writes on');
  expect(conversationRoots(room.doc).stamps.get(later.key)!.seq).toBe(
    stamps.get(sent[1]!.key)!.seq + 1,
  );
});
