/**
 * @module `npm run bench:snapshot`: sustained message rate through the sync path with the
 * projector on, and the projection lag at that rate.
 *
 * A real server (in this process) with its snapshot database: the embedded PGlite by default,
 * the Postgres of DATABASE_URL when set (in a throwaway schema). 8 SDK clients over real
 * WebSockets, each in its own private chat, keep up to 20 messages in flight for 10 s. Reported:
 * accepted messages per second, and the projection lag (age of the oldest change not yet in
 * the tables) sampled every 20 ms, p50 / p99 / max. `-- --seconds 20 --clients 16` to vary.
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createClient } from '../client/index.js';
import { startTestServer, token, waitFor } from '../test/helpers.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '8' },
  },
});
const seconds = Number(values.seconds);
const clientCount = Number(values.clients);
const url = process.env.DATABASE_URL;
const schema = url ? `bench_${process.pid}` : undefined;
const ts = await startTestServer({
  // A benchmark floods on purpose: no rate limit.
  env: {
    SNAPSHOTS: 'on',
    RATE_LIMIT_IDENTITY: 'off',
    RATE_LIMIT_CONVERSATION: 'off',
    ...(url ? { DATABASE_URL: url, DATABASE_SCHEMA: schema! } : {}),
  },
});
const projector = ts.server.projector!;
const WS = WebSocket as unknown as typeof globalThis.WebSocket;
const chats = await Promise.all(
  Array.from({ length: clientCount }, async (_, i) => {
    const client = createClient({
      url: ts.httpUrl,
      token: await token(`bench${i}`),
      WebSocket: WS,
    });
    const conversation = await client.openPrivate(`peer${i}`);
    await conversation.whenSynced();
    return { client, conversation };
  }),
);

const lag: number[] = [];
const sampler = setInterval(() => lag.push(projector.lagMs()), 20);
const started = Date.now();
const deadline = started + seconds * 1000;
let sent = 0;
await Promise.all(
  chats.map(async ({ conversation }) => {
    let n = 0;
    while (Date.now() < deadline) {
      const pending = conversation.messages().filter((m) => m.pending).length;
      if (pending >= 20) {
        await new Promise<void>((resolve) => {
          const off = conversation.on('change', () => {
            off();
            resolve();
          });
        });
        continue;
      }
      await conversation.send({
        content: `benchmark message ${n++} with some ordinary chat length`,
      });
      sent += 1;
    }
  }),
);
await waitFor(
  () => chats.every(({ conversation }) => conversation.messages().every((m) => !m.pending)),
  60_000,
  'all accepted',
);
const elapsed = (Date.now() - started) / 1000;
const accepted = chats.reduce((sum, { conversation }) => sum + conversation.messages().length, 0);
await waitFor(() => projector.pending === 0, 120_000, 'projection caught up');
clearInterval(sampler);
const sorted = [...lag].sort((a, b) => a - b);
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
const [rows] = await ts.server.db!.sql<{ n: string }[]>`SELECT count(*) AS n FROM t_msg_body`;

console.log(
  `node ${process.version}, ${new Date().toISOString().slice(0, 10)}, ${url ? 'Postgres' : 'PGlite'}, ${clientCount} clients, ${seconds} s\n`,
);
console.log(
  '| database | messages accepted/s | projection lag p50 / p99 / max (ms) | rows in t_msg_body |',
);
console.log('|---|---|---|---|');
console.log(
  `| ${url ? 'Postgres 15' : 'PGlite (embedded)'} | ${Math.round(accepted / elapsed)} | ${q(0.5)} / ${q(0.99)} / ${sorted[sorted.length - 1] ?? 0} | ${rows!.n} of ${accepted} |`,
);
void sent;
for (const { client } of chats) await client.close();
if (schema) await ts.server.db!.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
await ts.close();
process.exit(0);
