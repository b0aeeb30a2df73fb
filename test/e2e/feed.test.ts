/**
 * The change feed (issue 13, item 3): after each durable step a room publishes one Change, with
 * the persisted update, who made it, the messages it stamped and the read positions it moved.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Change } from '../../server/feed/types.js';
import { MessageFormat } from '../../shared/enums.js';
import { newMessageKey } from '../../shared/ids.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import { id, startTestServer, syncPeer, type TestServer, waitFor } from '../helpers.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(() => ts.close());

it('publishes one change per durable step: update, origins, stamped messages, reads', async () => {
  const key = privateKey(id('alice'), id('bob'));
  const changes: Change[] = [];
  const off = ts.server.feed.subscribe((c) => {
    if (c.doc === key) changes.push(c);
  });
  const alice = await syncPeer(ts, key, 'alice');
  const bob = await syncPeer(ts, key, 'bob');
  await waitFor(() => changes.some((c) => c.members.includes('alice')), 5000, 'genesis change');
  const message: Message = {
    key: newMessageKey(),
    sender: id('alice'),
    senderType: 1,
    format: MessageFormat.Text,
    content: 'hello',
    sentAt: Date.now(),
  };
  const from = changes.length;
  alice.change((doc) => conversationRoots(doc).messages.set(message.key, message));
  await waitFor(() => conversationRoots(bob.doc).stamps.has(message.key), 5000, 'delivered');
  const [sent] = changes.slice(from);
  expect(changes.slice(from)).toHaveLength(1);
  expect(sent!.author).toBe('alice');
  expect(sent!.origins).toEqual([
    { source: 'peer', identity: 'alice' },
    { source: 'server', reason: 'stamp' },
  ]);
  const stamp = conversationRoots(bob.doc).stamps.get(message.key)!;
  expect(sent!.messages).toEqual([
    { key: message.key, seq: stamp.seq, id: stamp.id, at: stamp.at },
  ]);
  // The update is what was persisted: message and stamp, in one.
  const keyed = Y.decodeUpdate(sent!.update).structs.filter(
    (s) => s instanceof Y.Item && s.parentSub === message.key,
  );
  expect(keyed).toHaveLength(2);

  const before = changes.length;
  bob.change((doc) => conversationRoots(doc).reads.set('bob:device-one', stamp.seq));
  await waitFor(() => changes.length > before, 5000, 'read change');
  expect(changes[before]!.reads).toEqual([['bob:device-one', stamp.seq]]);
  expect(changes[before]!.author).toBe('bob');
  off();
  alice.close();
  bob.close();
});
