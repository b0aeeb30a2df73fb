/**
 * @module bench:room-growth — one room's sustained rate as its document grows (issue 13: "one
 * room's sustained rate, 1 KB messages, at 1k vs 20k messages in the document: flat within
 * 20 %"). convosync (embedded defaults, rate limits off) and the reference y-websocket server,
 * one after the other in one run. One writer and one reader, real y-websocket clients with their
 * own Y.Doc, 1 KB text messages written as the SDK writes them, closed loop: at most `--window`
 * messages in flight (sent, not yet seen by the reader), so the rate is what the server sustains,
 * not what an open-loop schedule asks. Prints the rate of each block of `--block` messages, and
 * the ratio of the last block's rate to the second's (the first warms up).
 *
 *   npm run bench:room-growth -- [--messages=20000] [--block=1000] [--window=32] [--only=convosync]
 *     [--cpu-prof=DIR] (convosync's profile; split it with scripts/fanout/profile-split.ts)
 */
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { signToken } from '../server/auth/identity.js';
import { asIdentityId, newMessageKey } from '../shared/ids.js';
import { composeMessage } from '../shared/message.js';
import { conversationRoots } from '../shared/schema.js';
import { treeCpuSeconds } from './fanout/proc-cpu.js';
import { BENCH_SECRET, type Server, startProduct, startReference } from './fanout/servers.js';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const total = Number(arg('messages', '20000'));
const block = Number(arg('block', '1000'));
const window = Number(arg('window', '32'));
const only = arg('only', '');
const cpuProf = arg('cpu-prof', '');

process.setMaxListeners(0);

const connect = (url: string, room: string, token?: string) => {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(url, room, doc, {
    disableBc: true,
    params: token ? { token } : {},
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  return { doc, provider };
};

const synced = (p: WebsocketProvider) =>
  new Promise<void>((resolve) => {
    if (p.synced) resolve();
    else p.on('sync', (s: boolean) => s && resolve());
  });

async function room(server: Server): Promise<{ name: string; tokens: [string?, string?] }> {
  if (server.name === 'reference') return { name: 'growth', tokens: [] };
  const [w, r] = await Promise.all(
    ['writer', 'reader'].map((id) =>
      signToken({ id: asIdentityId(id), type: 1 }, BENCH_SECRET, 3600),
    ),
  );
  const res = await fetch(`${server.http}/api/v1/conversations/group`, {
    method: 'POST',
    headers: { authorization: `Bearer ${w}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'growth', members: [{ identityId: 'reader', identityType: 1 }] }),
  });
  const body = (await res.json()) as { data?: { conversationKey: string }; message?: string };
  if (!res.ok || !body.data) throw new Error(`creating a group failed: ${body.message}`);
  return { name: body.data.conversationKey, tokens: [w, r] };
}

interface Block {
  upTo: number;
  rate: number;
  cpuMsPerMessage: number;
}

async function measure(server: Server): Promise<Block[]> {
  const { name, tokens } = await room(server);
  const writer = connect(server.ws, name, tokens[0]);
  const reader = connect(server.ws, name, tokens[1]);
  await Promise.all([synced(writer.provider), synced(reader.provider)]);
  let seen = 0;
  let wake: (() => void) | undefined;
  conversationRoots(reader.doc).messages.observe((event) => {
    for (const key of event.keysChanged)
      if (event.changes.keys.get(key)?.action === 'add') seen += 1;
    wake?.();
  });
  const body = 'x'.repeat(1000);
  const blocks: Block[] = [];
  let blockStart = performance.now();
  let cpuStart = treeCpuSeconds(server.pid);
  for (let sent = 0; sent < total; ) {
    while (sent - seen >= window) await new Promise<void>((r) => (wake = r));
    const message = composeMessage(
      { content: `${sent} ${body}` },
      { identity: asIdentityId('writer'), identityType: 1 },
      newMessageKey(),
      Date.now(),
    );
    conversationRoots(writer.doc).messages.set(message.key, message);
    sent += 1;
    if (sent % block === 0) {
      while (seen < sent) await new Promise<void>((r) => (wake = r));
      const now = performance.now();
      const cpu = treeCpuSeconds(server.pid);
      blocks.push({
        upTo: sent,
        rate: block / ((now - blockStart) / 1000),
        cpuMsPerMessage: ((cpu - cpuStart) * 1000) / block,
      });
      process.stdout.write(
        `  ${server.name} ${sent}: ${Math.round(blocks.at(-1)!.rate)} msg/s, ${blocks.at(-1)!.cpuMsPerMessage.toFixed(2)} ms CPU/msg\n`,
      );
      blockStart = now;
      cpuStart = cpu;
    }
  }
  writer.provider.destroy();
  reader.provider.destroy();
  return blocks;
}

const results: Array<{ name: string; blocks: Block[] }> = [];
for (const start of [startProduct, startReference]) {
  if (only && start !== (only === 'reference' ? startReference : startProduct)) continue;
  const server =
    start === startProduct && cpuProf
      ? await startProduct({ nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] })
      : await start();
  try {
    results.push({ name: server.name, blocks: await measure(server) });
  } finally {
    await server.stop();
  }
}

console.log(`\none room, 1 KB messages, window ${window}: rate per block of ${block}`);
console.log(
  '| server | rate at 1k–2k | rate at the last block | last / second | CPU ms/msg first → last |',
);
console.log('|---|---|---|---|---|');
for (const { name, blocks } of results) {
  const second = blocks[1] ?? blocks[0]!;
  const last = blocks.at(-1)!;
  console.log(
    `| ${name} | ${Math.round(second.rate)} msg/s | ${Math.round(last.rate)} msg/s (${last.upTo}) | ${(last.rate / second.rate).toFixed(2)} | ${second.cpuMsPerMessage.toFixed(2)} → ${last.cpuMsPerMessage.toFixed(2)} |`,
  );
}
process.exit(0);
