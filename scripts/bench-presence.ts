/**
 * @module `npm run bench:presence`: awareness frames the server sends in a large group, with
 * the per-room fan-out coalescing and the per-client floor off (every update relayed at once to
 * every peer, as before) and on (the defaults).
 *
 * A real server (memory LevelDB directory in a temp folder, no snapshot tables), a group of 200
 * members created by an SDK client, 200 raw sockets joined to it, each publishing its presence
 * state once; then 20 of them type for 10 s, either at keystroke rate (a state every 100 ms, as
 * a stock client that publishes on every keystroke) or at the SDK's throttled rate (one every
 * 2 s). Counted: awareness frames received by all 200 sockets per second.
 * Run: `npm run bench:presence` (`-- --quick` for 5 s windows).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { createClient } from '../client/index.js';
import { signToken } from '../server/auth/identity.js';
import { parseConfig } from '../server/config.js';
import { createLogger } from '../server/log.js';
import { startServer } from '../server/server.js';
import { asIdentityId } from '../shared/ids.js';
import * as wire from '../shared/protocol/sync.js';

const MEMBERS = 200;
const TYPERS = 20;
const SECONDS = process.argv.includes('--quick') ? 5 : 10;
const SECRET = 'bench-secret-that-is-long-enough-for-hs256';

const jwt = (id: string) => signToken({ id: asIdentityId(id), type: 1 }, SECRET);

interface Member {
  ws: WebSocket;
  awareness: awarenessProtocol.Awareness;
  frames: number;
}

async function join(syncUrl: string, key: string, id: string): Promise<Member> {
  const ws = new WebSocket(`${syncUrl}/${key}?token=${await jwt(id)}`);
  ws.binaryType = 'arraybuffer';
  const awareness = new awarenessProtocol.Awareness(new Y.Doc());
  const member: Member = { ws, awareness, frames: 0 };
  ws.on('message', (data: ArrayBuffer) => {
    if (wire.readMessage(new Uint8Array(data)).type === 'awareness') member.frames += 1;
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  awareness.on('update', ({ added, updated, removed }: Record<string, number[]>) => {
    const ids = [...(added ?? []), ...(updated ?? []), ...(removed ?? [])];
    ws.send(wire.writeAwareness(awarenessProtocol.encodeAwarenessUpdate(awareness, ids)));
  });
  awareness.setLocalState({ user: { id, type: 1 }, device: `bench-${id}` });
  return member;
}

async function run(
  label: string,
  env: Record<string, string>,
  typingEveryMs: number,
): Promise<number> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'convosync-bench-presence-'));
  const config = parseConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    JWT_SECRET: SECRET,
    LOG_LEVEL: 'silent',
    SNAPSHOTS: 'off',
    ...env,
  });
  const server = await startServer(config, { log: createLogger('silent') });
  const syncUrl = `ws://127.0.0.1:${server.port}/sync`;
  const owner = createClient({
    url: server.url,
    token: await jwt('m0'),
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const group = await owner.createGroup({
    name: 'bench',
    members: Array.from({ length: MEMBERS - 1 }, (_, i) => ({
      identity: `m${i + 1}`,
      identityType: 1,
    })),
  });
  while (group.pendingIntents().length > 0) await new Promise((r) => setTimeout(r, 20));
  await owner.close();

  const members: Member[] = [];
  for (let i = 0; i < MEMBERS; i++) members.push(await join(syncUrl, group.key, `m${i}`));
  await new Promise((r) => setTimeout(r, 1000)); // let the join burst settle
  for (const m of members) m.frames = 0;

  const timers = members.slice(0, TYPERS).map((m, i) =>
    setTimeout(
      () => {
        const type = () => m.awareness.setLocalStateField('typing', { at: Date.now() });
        type();
        timers.push(setInterval(type, typingEveryMs));
      },
      (i * typingEveryMs) / TYPERS,
    ),
  );
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  for (const t of timers) clearInterval(t);
  const perSecond = members.reduce((sum, m) => sum + m.frames, 0) / SECONDS;
  console.log(`${label.padEnd(44)} ${Math.round(perSecond).toString().padStart(7)} frames/s`);

  for (const m of members) {
    m.ws.close();
    m.awareness.destroy();
  }
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
  return perSecond;
}

const before = { AWARENESS_FANOUT_MS: '0', AWARENESS_FLOOR_MS: '0' };
console.log(`${MEMBERS} members, ${TYPERS} typing, ${SECONDS} s per run`);
const rows: Array<[string, number, number]> = [];
for (const [name, every] of [
  ['keystrokes (a state every 100 ms)', 100],
  ['SDK throttle (a state every 2 s)', 2000],
] as const) {
  const off = await run(`${name}, coalescing off`, before, every);
  const on = await run(`${name}, defaults (200 ms / 250 ms)`, {}, every);
  rows.push([name, off, on]);
}
for (const [name, off, on] of rows)
  console.log(
    `${name}: ${Math.round(off)} -> ${Math.round(on)} frames/s (${(off / on).toFixed(1)}x)`,
  );
