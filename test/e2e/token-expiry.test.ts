/**
 * A socket lives no longer than its token: the server closes it with 4401 TOKEN_EXPIRED when the
 * JWT's `exp` passes. The SDK gets a new token from the app's `getToken` (before `exp`, or when
 * the server closes for it) and reconnects, and no intent is lost on the way.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient } from '../../client/index.js';
import { signToken } from '../../server/auth/identity.js';
import { privateKey } from '../../shared/keys.js';
import * as wire from '../../shared/protocol/sync.js';
import {
  closed,
  id,
  nthFrame,
  rawSocket,
  startTestServer,
  TEST_SECRET,
  type TestServer,
  waitFor,
} from '../helpers.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});

const shortToken = (who: string, ttlSeconds: number) =>
  signToken({ id: id(who), type: 1 }, TEST_SECRET, ttlSeconds);

it('closes a socket with 4401 TOKEN_EXPIRED when its token expires', async () => {
  const ws = await rawSocket(
    `${ts.syncUrl}/${privateKey(id('alice'), id('bob'))}?token=${await shortToken('alice', 2)}`,
  );
  // The upgrade succeeded (the token was valid); the socket joined its room...
  expect(wire.readMessage(await nthFrame(ws, 0)).type).toBe('sync-step1');
  // ...and is closed when the token's exp passes.
  const event = await closed(ws);
  expect(event.code).toBe(4401);
  expect(event.reason).toMatch(/^TOKEN_EXPIRED/);
});

for (const [name, refreshBeforeMs] of [
  ['before exp', 60_000],
  ['only when the server closes for it', 0],
] as const) {
  it(`the SDK refreshes its token ${name} and delivers every intent`, async () => {
    let calls = 0;
    const alice = createClient({
      url: ts.httpUrl,
      token: await shortToken('alice', 2),
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      maxBackoffMs: 100,
      refreshBeforeMs,
      getToken: async () => {
        calls += 1;
        return shortToken('alice', 2);
      },
    });
    try {
      const conv = await alice.openPrivate(`bob${refreshBeforeMs}`);
      await conv.whenSynced();
      let closes = 0;
      conv.on('status', (status) => {
        if (status === 'closed') closes += 1;
      });
      const errors: string[] = [];
      conv.on('error', (error, { intent }) => {
        if (intent) errors.push(error.code);
      });
      const sent: string[] = [];
      // Sends across at least two expiries of a 2 s token.
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        sent.push((await conv.send({ content: `m${sent.length}` })).key);
        await new Promise((r) => setTimeout(r, 150));
      }
      await waitFor(
        () => sent.every((key) => conv.messages().some((m) => m.key === key && !m.pending)),
        10_000,
        'every message accepted',
      );
      // Delivery receipts the SDK writes by itself go too.
      await waitFor(() => conv.pendingIntents().length === 0, 10_000, 'no intent left pending');
      expect(errors).toEqual([]);
      expect(calls).toBeGreaterThanOrEqual(1);
      // Refreshed ahead of time, the socket moves to the new token before the server closes it.
      if (refreshBeforeMs > 0) expect(closes).toBe(0);
      else expect(closes).toBeGreaterThanOrEqual(1);
    } finally {
      await alice.close();
    }
  });
}
