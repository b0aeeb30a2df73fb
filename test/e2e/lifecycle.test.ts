/**
 * Connection management: dead sockets are dropped by the heartbeat, and a graceful shutdown
 * (SIGTERM to `npm start`'s process) flushes, closes and exits 0 with everything on disk.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { SERVER_ARGV } from '../../server/command.js';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import {
  id,
  nthFrame,
  rawSocket,
  startTestServer,
  TEST_SECRET,
  type TestServer,
  tempDir,
  token,
  waitFor,
} from '../helpers.js';

let ts: TestServer;
const key = privateKey(id('alice'), id('bob'));
beforeAll(async () => {
  ts = await startTestServer({ env: { HEARTBEAT_MS: '100' } });
});
afterAll(async () => {
  await ts.close();
});

async function connections(url: string): Promise<number> {
  const body = (await (await fetch(`${url}/health`)).json()) as { data: { connections: number } };
  return body.data.connections;
}

it('drops a socket that stops answering pings, and keeps a live one', async () => {
  const live = await rawSocket(`${ts.syncUrl}/${key}?token=${await token('bob')}`);
  const dead = await rawSocket(`${ts.syncUrl}/${key}?token=${await token('alice')}`);
  await nthFrame(dead, 0);
  expect(await connections(ts.httpUrl)).toBe(2);
  // Stop reading: the client can no longer see pings, so it never answers them.
  (dead as unknown as { _socket: { pause(): void } })._socket.pause();
  const deadline = Date.now() + 5000;
  while ((await connections(ts.httpUrl)) !== 1 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  expect(await connections(ts.httpUrl)).toBe(1);
  expect(live.readyState).toBe(WebSocket.OPEN);
  live.close();
});

it('shuts down gracefully on SIGTERM: exit 0, accepted messages on disk', async () => {
  const dataDir = await tempDir();
  const child = spawn(process.execPath, [...SERVER_ARGV], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const url = await waitFor(
    () => /"msg":"convosync listening","url":"([^"]+)"/.exec(out)?.[1],
    // The child creates an embedded PGlite (initdb in WebAssembly): seconds on a quiet machine,
    // 20+ s measured while other suites saturated both cores.
    60_000,
    'listening',
  );
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${url.replace('http', 'ws')}/sync`, key, doc, {
    params: { token: await token('alice') },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  await waitFor(() => provider.synced, 10_000, 'synced');
  const closes: number[] = [];
  provider.on('connection-close', (event) => closes.push(event?.code ?? 0));
  conversationRoots(doc).messages.set('0123456789abcdef0123456789abcdef', {
    key: '0123456789abcdef0123456789abcdef',
    sender: id('alice'),
    senderType: 1,
    format: 0,
    content: 'before shutdown',
    sentAt: Date.now(),
  } as never);
  await waitFor(() => conversationRoots(doc).stamps.size === 1, 10_000, 'stamped');
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  provider.destroy();
  expect(out).toContain('"msg":"stopped"');
  // Peers were told to come back later (a retryable 45xx / 1001 close, not a permanent 44xx).
  expect(closes.every((code) => code < 4400 || code >= 4500)).toBe(true);
  const store = await openLeveldbStore(path.join(dataDir, 'docs'));
  const stored = new Y.Doc();
  for (const u of await store.load(key)) Y.applyUpdate(stored, u);
  await store.close();
  expect(conversationRoots(stored).messages.get('0123456789abcdef0123456789abcdef')?.content).toBe(
    'before shutdown',
  );
  expect(conversationRoots(stored).stamps.get('0123456789abcdef0123456789abcdef')?.seq).toBe(1);
}, 90_000);
