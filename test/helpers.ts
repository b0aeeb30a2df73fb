/**
 * @module Helpers shared by the e2e tests: a real server on an ephemeral port with its own
 * LevelDB directory, tokens, and polling for an outcome.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { type Client, type ClientOptions, createClient } from '../client/index.js';
import { type PlatformRole, signToken } from '../server/auth/identity.js';
import { type Config, parseConfig } from '../server/config.js';
import { createLogger } from '../server/log.js';
import { type RunningServer, type ServerOverrides, startServer } from '../server/server.js';
import type { DocStore } from '../server/store/types.js';
import { asIdentityId, type IdentityId, newMessageKey } from '../shared/ids.js';
import { composeMessage, type Draft } from '../shared/message.js';
import * as wire from '../shared/protocol/sync.js';
import { conversationRoots, type Message } from '../shared/schema.js';

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256!';

export async function tempDir(prefix = 'convosync-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return parseConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Snapshot tables cost an embedded Postgres per server: only the tests about them turn them on.
    SNAPSHOTS: 'off',
    ...env,
  });
}

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  /** ws://127.0.0.1:port/sync, the serverUrl for WebsocketProvider. */
  syncUrl: string;
  httpUrl: string;
  close(): Promise<void>;
}

export async function startTestServer(
  options: { dataDir?: string; env?: Record<string, string>; overrides?: ServerOverrides } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await tempDir());
  const config = testConfig(dataDir, options.env);
  const server = await startServer(config, {
    log: createLogger(config.logLevel),
    ...options.overrides,
  });
  return {
    server,
    dataDir,
    syncUrl: `ws://127.0.0.1:${server.port}/sync`,
    httpUrl: server.url,
    close: () => server.close(),
  };
}

export function token(id: string, type = 1, role?: PlatformRole): Promise<string> {
  return signToken({ id: asIdentityId(id), type, ...(role ? { role } : {}) }, TEST_SECRET);
}

export function id(value: string): IdentityId {
  return asIdentityId(value);
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `ms`. */
export async function waitFor<T>(
  // An async check is awaited (a pending promise is not an answer: it is always truthy).
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A raw WebSocket that records every frame from the moment it opens. */
export interface RawSocket extends WebSocket {
  received: Uint8Array[];
}

/** Opens a raw WebSocket; rejects with HttpRefusal when the server refuses the upgrade. */
export function rawSocket(url: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url) as RawSocket;
    ws.binaryType = 'arraybuffer';
    ws.received = [];
    // Attached before 'open': the first frame can arrive in the same chunk as the handshake.
    ws.on('message', (data: ArrayBuffer) => ws.received.push(new Uint8Array(data)));
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new HttpRefusal(res.statusCode ?? 0)));
    ws.once('error', reject);
  });
}

export class HttpRefusal extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** Resolves with the n-th frame (0-based) the socket received. */
export function nthFrame(ws: RawSocket, n: number, ms = 5000): Promise<Uint8Array> {
  return waitFor(() => ws.received[n], ms, `frame ${n}`);
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve({ code: 1006, reason: '' });
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

/**
 * A raw sync peer: a real socket and a local Y.Doc kept in sync by hand, so a test can send
 * exactly the update it crafts (what a malicious or buggy client would send).
 */
export interface SyncPeer {
  doc: Y.Doc;
  ws: RawSocket;
  /** Sends the changes `change` makes to the local doc, as one update message. */
  change(change: (doc: Y.Doc) => void): Uint8Array;
  send(update: Uint8Array): void;
  sendAwareness(update: Uint8Array): void;
  /** Resolves when the server closes the socket: code, reason, and the rejection if one came. */
  outcome(): Promise<{
    code: number;
    reason: string;
    rejection?: { code: string; clientId: number; clock: number };
  }>;
  close(): void;
}

export async function syncPeer(
  ts: TestServer,
  key: string,
  identity: string,
  type = 1,
  role?: PlatformRole,
): Promise<SyncPeer> {
  const ws = await rawSocket(`${ts.syncUrl}/${key}?token=${await token(identity, type, role)}`);
  const doc = new Y.Doc();
  let synced = false;
  const onFrame = (frame: Uint8Array) => {
    const message = wire.readMessage(frame);
    if (message.type === 'sync-step2' || message.type === 'update') {
      Y.applyUpdate(doc, message.update, 'server');
      if (message.type === 'sync-step2') synced = true;
    }
  };
  ws.received.forEach(onFrame);
  ws.on('message', (data: ArrayBuffer) => onFrame(new Uint8Array(data)));
  ws.send(wire.writeSyncStep1(Y.encodeStateVector(doc)));
  await waitFor(() => synced, 5000, `${identity} synced`);
  const outcome = closed(ws).then((event) => {
    const rejected = ws.received.map((f) => wire.readMessage(f)).find((m) => m.type === 'rejected');
    return {
      ...event,
      ...(rejected?.type === 'rejected'
        ? { rejection: { code: rejected.code, clientId: rejected.clientId, clock: rejected.clock } }
        : {}),
    };
  });
  return {
    doc,
    ws,
    change(change) {
      const before = Y.encodeStateVector(doc);
      change(doc);
      const update = Y.encodeStateAsUpdate(doc, before);
      ws.send(wire.writeUpdate(update));
      return update;
    },
    send: (update) => ws.send(wire.writeUpdate(update)),
    sendAwareness: (update) => ws.send(wire.writeAwareness(update)),
    outcome: () => outcome,
    close: () => ws.close(),
  };
}

/** An SDK client for `who` against `url`, over the `ws` package (Node 20 has no WebSocket). */
export async function sdkClient(
  url: string,
  who: string,
  options: Partial<ClientOptions> = {},
): Promise<Client> {
  return createClient({
    url,
    token: await token(who),
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    ...options,
  });
}

/**
 * A fresh test server per test and the SDK clients a test makes against it, all closed after
 * the test: `const env = serverWithClients(); ... const alice = await env.client('alice');`.
 */
export function serverWithClients(env: Record<string, string> = {}): {
  readonly ts: TestServer;
  readonly clients: readonly Client[];
  client(who: string, options?: Partial<ClientOptions>): Promise<Client>;
} {
  let ts: TestServer | undefined;
  const clients: Client[] = [];
  beforeEach(async () => {
    ts = await startTestServer({ env });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await ts?.close();
  });
  return {
    get ts() {
      if (!ts) throw new Error('the server starts in beforeEach');
      return ts;
    },
    clients,
    async client(who, options = {}) {
      const c = await sdkClient(this.ts.httpUrl, who, options);
      clients.push(c);
      return c;
    },
  };
}

/** A message from `sender` (a user), composed as the SDK composes one, not yet written. */
export function composeAs(sender: string, draft: Draft): Message {
  return composeMessage(
    draft,
    { identity: id(sender), identityType: 1 },
    newMessageKey(),
    Date.now(),
  );
}

/** Writes a message as `sender` through a raw sync peer, composed as the SDK composes one. */
export function postMessage(peer: SyncPeer, sender: string, draft: Draft): Message {
  const message = composeAs(sender, draft);
  peer.change((doc) => conversationRoots(doc).messages.set(message.key, message));
  return message;
}

/** One value of the server's `/metrics`: a counter, or a histogram's `_sum` or `_count`. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

/**
 * `store` with some of its methods replaced (a disk that fails or stalls, reads that are slow or
 * counted); the others are the store's own, and `isOpen` keeps following it (a spread would copy
 * the getter's value once).
 */
export function wrapStore(store: DocStore, replaced: Partial<Omit<DocStore, 'isOpen'>>): DocStore {
  const wrapped = { ...store, ...replaced };
  Object.defineProperty(wrapped, 'isOpen', { get: () => store.isOpen, enumerable: true });
  return wrapped;
}
