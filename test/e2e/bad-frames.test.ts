/**
 * Malformed binary frames, text frames and oversized frames: the offending socket gets a clear
 * close (code and reason), the server stays up and keeps serving other clients, and the
 * conversation's document is unchanged.
 */
import path from 'node:path';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Logger } from '../../server/log.js';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import { privateKey } from '../../shared/keys.js';
import * as wire from '../../shared/protocol/sync.js';
import {
  closed,
  id,
  nthFrame,
  type RawSocket,
  rawSocket,
  startTestServer,
  type TestServer,
  tempDir,
  token,
  wrapStore,
} from '../helpers.js';

let ts: TestServer;
const key = privateKey(id('alice'), id('bob'));
const MAX = 64 * 1024;

beforeAll(async () => {
  ts = await startTestServer({ env: { MAX_FRAME_BYTES: String(MAX) } });
});
afterAll(async () => {
  await ts.close();
});

async function open(who = 'alice'): Promise<RawSocket> {
  return rawSocket(`${ts.syncUrl}/${key}?token=${await token(who)}`);
}

/** Waits for the server's first frame (sync step 1): the socket has joined the room. */
async function joined(ws: RawSocket): Promise<void> {
  const first = await nthFrame(ws, 0);
  expect(wire.readMessage(first).type).toBe('sync-step1');
}

async function serverState(): Promise<Uint8Array> {
  const room = await ts.server.rooms.open(key, { id: id('alice'), type: 1 });
  return Y.encodeStateAsUpdate(room.doc);
}

async function stillServes(): Promise<void> {
  const ws = await open('bob');
  await joined(ws);
  const health = await fetch(`${ts.httpUrl}/health`);
  expect(health.status).toBe(200);
  ws.close();
}

const cases: Array<[string, () => Uint8Array | string, number, RegExp]> = [
  [
    'an unknown message type',
    () => Uint8Array.of(42, 1, 2, 3),
    4400,
    /^MALFORMED_MESSAGE: .*unknown message type 42/,
  ],
  ['a truncated sync frame', () => Uint8Array.of(0, 2, 200), 4400, /^MALFORMED_MESSAGE/],
  [
    'an unknown sync type',
    () => Uint8Array.of(0, 9, 0),
    4400,
    /^MALFORMED_MESSAGE: .*unknown sync message type 9/,
  ],
  [
    'an update that does not decode',
    () => wire.writeUpdate(Uint8Array.of(5, 255, 255, 255, 1)),
    4400,
    /^MALFORMED_MESSAGE: update does not decode/,
  ],
  ['a text frame', () => 'hello', 4400, /^MALFORMED_MESSAGE: text frames/],
  [
    'a sync step 1 whose state vector is cut short (00 00 01 05)',
    () => Uint8Array.of(0, 0, 1, 5),
    4400,
    /^MALFORMED_MESSAGE/,
  ],
  [
    'a sync step 1 whose state vector has a varint past 53 bits',
    () => wire.writeSyncStep1(Uint8Array.of(1, ...new Array(9).fill(0xff), 0x7f, 1)),
    4400,
    /^MALFORMED_MESSAGE/,
  ],
  [
    'a sync step 1 whose state vector claims a huge client count',
    () => wire.writeSyncStep1(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f)),
    4400,
    /^MALFORMED_MESSAGE/,
  ],
  [
    'a sync step 1 whose state vector has trailing bytes',
    () => wire.writeSyncStep1(Uint8Array.of(0, 7)),
    4400,
    /^MALFORMED_MESSAGE/,
  ],
  [
    'a frame with trailing bytes',
    () => {
      const e = encoding.createEncoder();
      encoding.writeUint8Array(e, wire.writeQueryAwareness());
      encoding.writeVarUint(e, 7);
      return encoding.toUint8Array(e);
    },
    4400,
    /^MALFORMED_MESSAGE: .*trailing bytes/,
  ],
];

for (const [name, make, code, reason] of cases) {
  it(`closes a socket that sends ${name}`, async () => {
    const before = await serverState();
    const ws = await open();
    await joined(ws);
    ws.send(make());
    const event = await closed(ws);
    expect(event.code).toBe(code);
    expect(event.reason).toMatch(reason);
    expect(await serverState()).toEqual(before);
    await stillServes();
  });
}

it('closes a socket that sends an oversized frame with 1009 and keeps serving', async () => {
  const before = await serverState();
  const ws = await open();
  await joined(ws);
  ws.send(wire.writeUpdate(new Uint8Array(MAX + 1)));
  const event = await closed(ws);
  expect(event.code).toBe(1009);
  expect(await serverState()).toEqual(before);
  await stillServes();
});

it('closes a socket that floods frames before the room is ready with 4429', async () => {
  // A server whose (real, LevelDB) store is slow to load, so the room stays not-ready.
  const dataDir = await tempDir();
  const level = await openLeveldbStore(path.join(dataDir, 'docs'));
  const slow = wrapStore(level, {
    load: async (name) => {
      await new Promise((r) => setTimeout(r, 500));
      return level.load(name);
    },
  });
  const other = await startTestServer({ dataDir, overrides: { store: slow } });
  try {
    const ws = await rawSocket(`${other.syncUrl}/${key}?token=${await token('alice')}`);
    for (let i = 0; i < 300; i++) ws.send(wire.writeQueryAwareness());
    const event = await closed(ws);
    expect(event.code).toBe(4429);
    expect(event.reason).toMatch(/^TOO_MANY_PENDING/);
    // A well-behaved socket on the same server still joins once the room is loaded.
    const good = await rawSocket(`${other.syncUrl}/${key}?token=${await token('bob')}`);
    expect(wire.readMessage(await nthFrame(good, 0)).type).toBe('sync-step1');
    good.close();
  } finally {
    await other.close();
  }
});

it('logs a flood of malformed sync step 1 frames at info, within the close-log budget', async () => {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const capture = (base: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (msg: string, fields: Record<string, unknown> = {}) =>
        lines.push({ level, msg, fields: { ...base, ...fields } });
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (fields) => capture({ ...base, ...fields }),
    };
  };
  const other = await startTestServer({ overrides: { log: capture({}) } });
  try {
    const started = Date.now();
    const flood = 60;
    for (let i = 0; i < flood; i++) {
      const ws = await rawSocket(`${other.syncUrl}/${key}?token=${await token('alice')}`);
      await joined(ws);
      ws.send(
        i % 2
          ? Uint8Array.of(0, 0, 1, 5)
          : wire.writeSyncStep1(
              Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1),
            ),
      );
      const event = await closed(ws);
      expect(event.code).toBe(4400);
    }
    const windows = Math.floor((Date.now() - started) / 10_000) + 1;
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    const closes = lines.filter((l) => l.msg === 'closing socket');
    expect(closes.every((l) => l.level === 'info' && l.fields.code === 'MALFORMED_MESSAGE')).toBe(
      true,
    );
    // 20 lines per 10 s window (server.ts), whatever the flood.
    expect(closes.length).toBeGreaterThan(0);
    expect(closes.length).toBeLessThanOrEqual(20 * windows);
    expect(closes.length).toBeLessThan(flood);
  } finally {
    await other.close();
  }
});
