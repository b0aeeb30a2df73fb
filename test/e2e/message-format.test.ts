/**
 * `message.format` given as a string ("5", "0") passed the shape rules (FORMAT_RULES was indexed
 * by it, and "5" is a key of that object) but escaped every strict `=== MessageFormat.X` check:
 * a plain user posted a business card (only services may), or an empty text message; and an
 * inherited key ("constructor") was a "format" whose row Postgres refuses (INT column), so the
 * conversation's projection stopped for good. Found by a robustness review.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newMessageKey } from '../../shared/ids.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import { startSnapshotServer } from '../db.js';
import { id, syncPeer, type TestServer, waitFor } from '../helpers.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startSnapshotServer();
}, 60_000);
afterAll(async () => {
  await ts.close();
});

const chat = privateKey(id('alice'), id('bob'));

async function tryPost(extra: Record<string, unknown>) {
  const peer = await syncPeer(ts, chat, 'alice');
  const m = {
    key: newMessageKey(),
    sender: id('alice'),
    senderType: 1,
    content: '',
    sentAt: Date.now(),
    ...extra,
  } as unknown as Message;
  peer.change((doc) => conversationRoots(doc).messages.set(m.key, m));
  const result = await Promise.race([
    peer.outcome(),
    waitFor(() => conversationRoots(peer.doc).stamps.get(m.key), 5000, 'stamp').then(
      () => 'stamped',
    ),
  ]);
  peer.close();
  return result;
}

it('a plain user cannot post a card by writing format as the string "5"', async () => {
  const result = await tryPost({
    format: '5',
    content: 'Refund approved',
    card: { bizType: 7, bizId: 'order-42', title: 'Refund approved' },
  });
  expect(result).not.toBe('stamped');
}, 30_000);

it('an empty text message written with format "0" is refused', async () => {
  const result = await tryPost({ format: '0', content: '' });
  expect(result).not.toBe('stamped');
}, 30_000);

it('a message whose format is "constructor" is refused, not left to stall the projection', async () => {
  // FORMAT_RULES["constructor"] is Object.prototype.constructor: truthy, so the shape rule takes
  // it for a format; message_format INT then refuses "constructor" and the chat never projects.
  const result = await tryPost({ format: 'constructor', content: 'hi' });
  await ts.server.projector!.flush().catch(() => undefined);
  expect(ts.server.projector!.failing).toBe(0);
  expect(result).not.toBe('stamped');
}, 30_000);
