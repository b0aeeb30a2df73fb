/**
 * Slow readers cannot make the server hold unbounded memory: a socket that stops reading is
 * dropped once its unwritten bytes pass MAX_SOCKET_BUFFER_BYTES (and resyncs from sync step 1
 * when it comes back), the most-behind socket is dropped when all of them together pass
 * MAX_OUTBOUND_BYTES, and one identity cannot open more than MAX_SOCKETS_PER_IDENTITY sockets.
 * Readers are real sockets whose TCP stream is paused.
 */
import { afterEach, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MessageFormat } from '../../shared/enums.js';
import { newMessageKey } from '../../shared/ids.js';
import { privateKey } from '../../shared/keys.js';
import * as wire from '../../shared/protocol/sync.js';
import { conversationRoots } from '../../shared/schema.js';
import {
  closed,
  id,
  nthFrame,
  type RawSocket,
  rawSocket,
  type SyncPeer,
  startTestServer,
  syncPeer,
  type TestServer,
  token,
  waitFor,
} from '../helpers.js';

let ts: TestServer | undefined;
const open: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await ts?.close();
  ts = undefined;
});

const UNLIMITED = { RATE_LIMIT_IDENTITY: 'off', RATE_LIMIT_CONVERSATION: 'off' };

/** A member's raw socket that joined and then stopped reading its TCP stream. */
async function pausedReader(server: TestServer, key: string, who: string): Promise<RawSocket> {
  const ws = await rawSocket(`${server.syncUrl}/${key}?token=${await token(who)}`);
  open.push(ws);
  await nthFrame(ws, 0);
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  return ws;
}

/** Posts `updates` updates of 100 messages of 4,900 characters (about 0.5 MB each) as `sender`. */
function flood(writer: SyncPeer, sender: string, updates: number): void {
  const content = 'x'.repeat(4900);
  for (let i = 0; i < updates; i++) {
    writer.change((doc) => {
      for (let n = 0; n < 100; n++) {
        const key = newMessageKey();
        conversationRoots(doc).messages.set(key, {
          key,
          sender: id(sender),
          senderType: 1,
          format: MessageFormat.Text,
          content,
          sentAt: Date.now(),
        });
      }
    });
  }
}

it('drops a reader that falls behind its own cap; it resyncs from step 1 when it returns', async () => {
  ts = await startTestServer({
    env: { ...UNLIMITED, MAX_SOCKET_BUFFER_BYTES: String(1024 * 1024) },
  });
  const key = privateKey(id('alice'), id('bob'));
  const alice = await syncPeer(ts, key, 'alice');
  open.push(alice);
  await pausedReader(ts, key, 'bob');
  const room = ts.server.rooms.peek(key)!;
  expect(room.size).toBe(2);
  // 20 MB of broadcasts: more than the kernel buffers of a loopback connection hold.
  flood(alice, 'alice', 40);
  await waitFor(() => room.size === 1, 20_000, 'bob dropped');
  await room.drain();
  expect(alice.ws.readyState).toBe(alice.ws.OPEN);
  // Back again: a fresh socket syncs everything from step 1.
  const bob = await syncPeer(ts, key, 'bob');
  open.push(bob);
  expect(conversationRoots(bob.doc).messages.size).toBe(4000);
  expect(Y.encodeStateVector(bob.doc)).toEqual(Y.encodeStateVector(room.doc));
});

it('drops the reader most behind when all sockets together pass the outbound budget', async () => {
  ts = await startTestServer({
    env: {
      ...UNLIMITED,
      MAX_SOCKET_BUFFER_BYTES: String(64 * 1024 * 1024),
      MAX_OUTBOUND_BYTES: String(1024 * 1024),
    },
  });
  const key = privateKey(id('alice'), id('bob'));
  const alice = await syncPeer(ts, key, 'alice');
  open.push(alice);
  await pausedReader(ts, key, 'bob');
  // A second device of bob that reads: it must not be the one dropped.
  const reading = await syncPeer(ts, key, 'bob');
  open.push(reading);
  const room = ts.server.rooms.peek(key)!;
  expect(room.size).toBe(3);
  flood(alice, 'alice', 40);
  await waitFor(() => room.size === 2, 20_000, 'the paused reader dropped');
  await waitFor(
    () => conversationRoots(reading.doc).messages.size === 4000,
    20_000,
    'the reading device got everything',
  );
  expect(reading.ws.readyState).toBe(reading.ws.OPEN);
});

it('caps the sockets of one identity', async () => {
  ts = await startTestServer({ env: { MAX_SOCKETS_PER_IDENTITY: '3' } });
  const sockets: RawSocket[] = [];
  for (const other of ['b1', 'b2', 'b3']) {
    const ws = await rawSocket(
      `${ts.syncUrl}/${privateKey(id('alice'), id(other))}?token=${await token('alice')}`,
    );
    open.push(ws);
    expect(wire.readMessage(await nthFrame(ws, 0)).type).toBe('sync-step1');
    sockets.push(ws);
  }
  const fourth = await rawSocket(
    `${ts.syncUrl}/${privateKey(id('alice'), id('b4'))}?token=${await token('alice')}`,
  );
  const event = await closed(fourth);
  expect(event.code).toBe(4429);
  expect(event.reason).toMatch(/^TOO_MANY_CONNECTIONS/);
  // Another identity is not affected, and a closed socket frees its place.
  const bob = await rawSocket(
    `${ts.syncUrl}/${privateKey(id('alice'), id('bob'))}?token=${await token('bob')}`,
  );
  open.push(bob);
  await nthFrame(bob, 0);
  sockets[0]!.close();
  await closed(sockets[0]!);
  const fifth = await rawSocket(
    `${ts.syncUrl}/${privateKey(id('alice'), id('b5'))}?token=${await token('alice')}`,
  );
  open.push(fifth);
  expect(wire.readMessage(await nthFrame(fifth, 0)).type).toBe('sync-step1');
});
