/**
 * Every close code the server can send, delivered to real clients through a proxy in front of a
 * real server (test/ws-proxy.ts): a stock y-websocket WebsocketProvider and the SDK both survive
 * each one without throwing. The stock provider stops on 44xx (emitting `closed`) and reconnects
 * on anything else; the SDK never leaves an intent pending: a message sent right after the close
 * is either accepted once the SDK recovers by itself, or reported failed with its intent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { Client } from '../../client/index.js';
import type { Intent } from '../../client/intents.js';
import { MessageFormat } from '../../shared/enums.js';
import { ConvosyncError, closeReason, ERRORS, type ErrorCode } from '../../shared/errors.js';
import { newMessageKey } from '../../shared/ids.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import {
  id,
  sdkClient,
  startTestServer,
  syncPeer,
  type TestServer,
  token,
  waitFor,
} from '../helpers.js';
import { type WsProxy, wsProxy } from '../ws-proxy.js';

let ts: TestServer;
let proxy: WsProxy;
const key = privateKey(id('alice'), id('bob'));

beforeAll(async () => {
  ts = await startTestServer();
  proxy = await wsProxy(ts.httpUrl);
});
afterAll(async () => {
  await proxy.close();
  await ts.close();
});

/** [close code, reason] for every code of the error table, plus what `ws` and shutdown send. */
const closes: Array<[number, string]> = [
  ...(Object.keys(ERRORS) as ErrorCode[]).map((code): [number, string] => [
    ERRORS[code].close,
    closeReason(new ConvosyncError(code)),
  ]),
  [1001, 'SHUTTING_DOWN: server is shutting down'],
  [1009, ''],
  [1006, ''],
];

describe('a stock y-websocket client', () => {
  it('survives every close code: stops on 44xx, reconnects and resyncs on the others', async () => {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(proxy.syncUrl, key, doc, {
      params: { token: await token('bob') },
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      maxBackoffTime: 50,
    });
    const closedWith: number[] = [];
    provider.on('closed', ({ code }) => closedWith.push(code));
    let drops = 0;
    provider.on('connection-close', () => {
      drops += 1;
    });
    try {
      await waitFor(() => provider.synced, 5000, 'first sync');
      for (const [code, reason] of closes) {
        const before = closedWith.length;
        const dropped = drops;
        proxy.closeAll(code, reason);
        await waitFor(() => drops > dropped, 5000, `${code} noticed`);
        if (code >= 4400 && code < 4500) {
          await waitFor(() => closedWith.length > before, 5000, `closed event for ${code}`);
          expect(closedWith.at(-1)).toBe(code);
          provider.connect();
        }
        await waitFor(() => provider.synced, 5000, `resynced after ${code}`);
      }
    } finally {
      provider.destroy();
    }
  });
});

describe('the SDK', () => {
  let alice: Client;
  afterAll(async () => {
    await alice?.close();
  });

  it('survives every close code and leaves no intent pending', async () => {
    alice = await sdkClient(proxy.httpUrl, 'alice', {
      maxBackoffMs: 50,
      getToken: () => token('alice'),
    });
    const conv = await alice.openPrivate('bob');
    await conv.whenSynced();
    const failed: Array<{ code: string; intent: Intent }> = [];
    conv.on('error', (error, { intent }) => {
      if (intent) failed.push({ code: error.code, intent });
    });
    let syncs = 0;
    conv.on('synced', () => {
      syncs += 1;
    });
    let drops = 0;
    conv.on('status', (status) => {
      if (status !== 'connected' && status !== 'connecting') drops += 1;
    });
    for (const [code, reason] of closes) {
      const dropped = drops;
      proxy.closeAll(code, reason);
      await waitFor(() => drops > dropped, 5000, `${code} noticed`);
      let sent: string | undefined;
      try {
        sent = (await conv.send({ content: `after ${code} ${reason}` })).key;
      } catch (error) {
        // Refused up front: this identity cannot write here (as far as the SDK was told).
        expect((error as ConvosyncError).code).toMatch(/NOT_MEMBER|NOT_FOUND|INVALID_KEY|SERVICE/);
      }
      if (sent) {
        const settled = await waitFor(
          () => {
            const stamped = conv.messages().find((m) => m.key === sent && !m.pending);
            const reported = failed.find((f) => f.intent.id === sent);
            const pending = conv.pendingIntents().some((i) => i.id === sent);
            return (stamped || reported) && !pending
              ? stamped
                ? 'accepted'
                : 'failed'
              : undefined;
          },
          10_000,
          `the message sent after ${code} ${reason} settles`,
        );
        expect(['accepted', 'failed']).toContain(settled);
      }
      // Offline and online again must not throw, and bring the conversation back.
      alice.goOffline();
      await waitFor(() => conv.status !== 'connected', 5000, `offline after ${code}`);
      const before = syncs;
      alice.goOnline();
      await waitFor(() => syncs > before, 10_000, `synced again after ${code}`);
    }
    // Delivery receipts the SDK writes by itself go too.
    await waitFor(() => conv.pendingIntents().length === 0, 10_000, 'no intent left pending');
  });
});

describe('the SDK when Yjs changes its clientID', () => {
  it('goes offline and online without a TypeError after another device wrote under its clientID', async () => {
    // Yjs gives a document a new clientID when a remote update carries structs under its own;
    // y-websocket then encodes awareness for a clientID the awareness does not know.
    const alice = await sdkClient(ts.httpUrl, 'alice', { maxBackoffMs: 50 });
    try {
      const conv = await alice.openPrivate('bob');
      await conv.whenSynced();
      const taken = conv.doc.clientID;
      // Another device of alice picks the same clientID (the server allows it: same identity).
      const other = await syncPeer(ts, key, 'alice');
      other.doc.clientID = taken;
      const clash = newMessageKey();
      other.change((doc) =>
        conversationRoots(doc).messages.set(clash, {
          key: clash,
          sender: id('alice'),
          senderType: 1,
          format: MessageFormat.Text,
          content: 'same clientID',
          sentAt: Date.now(),
        }),
      );
      await waitFor(() => conv.messages().some((m) => m.key === clash), 5000, 'clash received');
      expect(conv.doc.clientID).not.toBe(taken);
      alice.goOffline();
      await waitFor(() => conv.status !== 'connected', 5000, 'offline');
      alice.goOnline();
      const sent = await conv.send({ content: 'after the clash' });
      await waitFor(
        () => conv.messages().some((m) => m.key === sent.key && !m.pending),
        5000,
        'accepted after reconnecting',
      );
      other.close();
    } finally {
      await alice.close();
    }
  });
});
