/**
 * @module `npm run bench:slow-readers`: the server's memory while readers stop reading. A server
 * runs as a child process (so its RSS is its own); 10 members join a group and pause their TCP
 * streams (a paused tab, a dead link, with the heartbeat raised so it does not drop them); one
 * member posts 120 updates of 100 messages (about 60 MB, so 600 MB of broadcasts; `UPDATES=`). Reported: the
 * server's RSS before and after, and how many paused readers it dropped, with the old limits
 * (64 MB per socket, no total) and with the defaults.
 * Run: `npm run bench:slow-readers`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { signToken } from '../server/auth/identity.js';
import { SERVER_ARGV } from '../server/command.js';
import { genesisWrites } from '../shared/actions.js';
import { MessageFormat } from '../shared/enums.js';
import { asIdentityId, newMessageKey } from '../shared/ids.js';
import { groupKey } from '../shared/keys.js';
import * as wire from '../shared/protocol/sync.js';
import { conversationRoots } from '../shared/schema.js';

const SECRET = 'bench-secret-that-is-long-enough-for-hs256';
const READERS = 10;
const UPDATES = Number(process.env.UPDATES ?? 120);
const jwt = (id: string) => signToken({ id: asIdentityId(id), type: 1 }, SECRET);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-slow-'));
  const child = spawn(process.execPath, [...SERVER_ARGV], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'error',
      SNAPSHOTS: 'off',
      HEARTBEAT_MS: '3600000',
      RATE_LIMIT_IDENTITY: 'off',
      RATE_LIMIT_CONVERSATION: 'off',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `ws://127.0.0.1:${port}/sync`;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ready`);
      if (r.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url };
}

async function rssMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
}

/** Resolves once the server's first frame (sync step 1) arrived: the socket joined its room. */
function socket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.once('message', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function run(label: string, env: Record<string, string>): Promise<void> {
  const { child, url } = await start(env);
  const key = groupKey();
  const readers = Array.from({ length: READERS }, (_, i) => `reader${i}`);
  const owner = await socket(`${url}/${key}?token=${await jwt('owner')}`);
  const doc = new Y.Doc();
  const send = (change: () => void) => {
    const before = Y.encodeStateVector(doc);
    change();
    owner.send(wire.writeUpdate(Y.encodeStateAsUpdate(doc, before)));
  };
  owner.send(wire.writeSyncStep1(Y.encodeStateVector(doc)));
  send(() => {
    const writes = genesisWrites(
      key,
      {
        name: 'bench',
        members: readers.map((r) => ({ identity: asIdentityId(r), identityType: 1 })),
      },
      { id: asIdentityId('owner'), type: 1 },
      Date.now(),
    );
    doc.transact(() => {
      for (const w of writes) doc.getMap(w.root).set(w.key, w.value);
    });
  });
  await new Promise((r) => setTimeout(r, 500));
  const paused: WebSocket[] = [];
  let dropped = 0;
  for (const reader of readers) {
    const ws = await socket(`${url}/${key}?token=${await jwt(reader)}`);
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    ws.once('close', () => {
      dropped += 1;
    });
    paused.push(ws);
  }
  const before = await rssMb(child.pid!);
  const content = 'x'.repeat(4900);
  for (let u = 0; u < UPDATES; u++) {
    send(() => {
      for (let n = 0; n < 100; n++) {
        const k = newMessageKey();
        conversationRoots(doc).messages.set(k, {
          key: k,
          sender: asIdentityId('owner'),
          senderType: 1,
          format: MessageFormat.Text,
          content,
          sentAt: Date.now(),
        });
      }
    });
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const after = await rssMb(child.pid!);
  // Resume the readers so their closes (if any) are seen.
  for (const ws of paused) (ws as unknown as { _socket: { resume(): void } })._socket.resume();
  await new Promise((r) => setTimeout(r, 2000));
  console.log(
    `${label}: server RSS ${before} MB -> ${after} MB with ${READERS} paused readers; dropped ${dropped}`,
  );
  for (const ws of paused) ws.terminate();
  owner.terminate();
  child.kill('SIGKILL');
}

await run('old limits (64 MB per socket, no total)', {
  MAX_SOCKET_BUFFER_BYTES: String(64 * 1024 * 1024),
  MAX_OUTBOUND_BYTES: String(64 * 1024 * 1024 * 1024),
});
await run('defaults (4 MB per socket, 256 MB total)', {});
