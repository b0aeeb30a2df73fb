/**
 * `npm run bench:cluster-cost`: what an accepted message costs in cluster mode against one node
 * (issue 16's cost test, T10 of ../shared/notes/scale-out.md), side by side in one run.
 *
 * The same load (bench:fanout's load generator: rooms × members, each member a y-websocket
 * client with its own Y.Doc, 120-byte messages on an open-loop schedule) against
 *   1. one node on LevelDB with its snapshot tables in the Postgres of DATABASE_URL, then
 *   2. `--nodes` (default 3) nodes in cluster mode (that Postgres for the log and the tables,
 *      the Redis of REDIS_URL), twice: `spread`, each member of a room on another node than the
 *      one before, so most sockets are relayed to the room's owner (the worst case), and
 *      `routed`, every member on the room's owner, as behind a load balancer that hashes the
 *      conversation in the URL (see `Placement`).
 * CPU per delivered-to-the-server message = the node process trees + the Postgres server's
 * processes + (cluster) the Redis server, read from /proc over the run and until quiet again.
 * Postgres and Redis are the machine's services: anything else using them meanwhile counts
 * too, so run it on a quiet machine. Needs DATABASE_URL and REDIS_URL (defaults: 127.0.0.1).
 *
 *   npm run bench:cluster-cost -- [--nodes=3] [--rate=200] [--seconds=8] [--rooms=30] [--members=3]
 *     [--placement=spread,routed] [--cpu-prof=DIR]   (a profile of each cluster node, in DIR/node<i>)
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { connectRedis } from '../server/cluster/redis.js';
import { Gen, productRoom } from './fanout/gen.js';
import { quiet, treeCpuSeconds } from './fanout/proc-cpu.js';
import type { Member, RoomSpec, RunResult } from './fanout/protocol.js';
import { type Server, startProduct } from './fanout/servers.js';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '8' },
    rooms: { type: 'string', default: '30' },
    members: { type: 'string', default: '3' },
    /** A directory: each cluster node writes a `node --cpu-prof` profile there. */
    'cpu-prof': { type: 'string' },
    /** spread (sockets on other nodes than the owner), routed (on the owner), or both. */
    placement: { type: 'string', default: 'spread,routed' },
  },
});
const nodeCount = Number(args.nodes);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const roomCount = Number(args.rooms);
const memberCount = Number(args.members);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const placements = args.placement.split(',') as Placement[];
const REDIS_DB = 15; // no test uses it (each test file flushes its own)

/**
 * CPU seconds of every process whose command name is `comm` (the machine's services), with
 * their reaped children's.
 */
function serviceCpuSeconds(comm: string): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue;
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      // With the children it reaped (a Postgres backend whose connection closed meanwhile).
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / 100;
}

interface Parts {
  nodes: number;
  postgres: number;
  redis: number;
}

function cpuNow(servers: Server[]): Parts {
  return {
    nodes: servers.reduce((s, server) => s + treeCpuSeconds(server.pid), 0),
    postgres: serviceCpuSeconds('postgres'),
    redis: serviceCpuSeconds('redis-server'),
  };
}

/**
 * Where sockets go. `spread`: every room is made through the first node (which so owns them
 * all) and member m of room r connects to node (r + m) % n, so most sockets are relayed (the
 * worst case). `routed`: room r is made through node r % n, which owns it, and all its members
 * connect there, as a load balancer that hashes the conversation in the URL would send them
 * (nothing is relayed; what is left is the fenced log, leases and presence).
 */
type Placement = 'spread' | 'routed';

async function run(label: string, servers: Server[], placement: Placement): Promise<void> {
  const specs: RoomSpec[] = [];
  for (let r = 0; r < roomCount; r++) {
    const ids = Array.from({ length: memberCount }, (_, m) => `c${r}m${m}`);
    const home = placement === 'routed' ? servers[r % servers.length]! : servers[0]!;
    const room = await productRoom(home, ids);
    specs.push({
      name: room.name,
      members: room.members.map(
        (member, m): Member => ({
          ...member,
          url: placement === 'routed' ? home.ws : servers[(r + m) % servers.length]!.ws,
        }),
      ),
    });
  }
  const gens = [new Gen(), new Gen()];
  try {
    await Promise.all(
      gens.map((g, i) =>
        g.ask({ type: 'setup', url: servers[0]!.ws, rooms: specs.filter((_, r) => r % 2 === i) }),
      ),
    );
    for (const server of servers) await quiet(server.pid);
    const before = cpuNow(servers);
    const start = performance.now();
    const replies = await Promise.all(
      gens.map((g) =>
        g.ask({
          type: 'run',
          rate: rate / gens.length,
          seconds,
          drainMs: 10_000,
          expect: Math.round((rate / gens.length) * seconds) * (memberCount - 1),
        }),
      ),
    );
    const wall = (performance.now() - start) / 1000;
    for (const server of servers) await quiet(server.pid);
    const after = cpuNow(servers);
    const results = replies.map((r) => (r as { result: RunResult }).result);
    const sent = results.reduce((s, r) => s + r.sent, 0);
    const lost = results.reduce((s, r) => s + r.expected - r.received, 0);
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const p = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))];
    const per = (x: number) => `${((x / sent) * 1000).toFixed(2)} ms`;
    const nodes = after.nodes - before.nodes;
    const pg = after.postgres - before.postgres;
    const redis = after.redis - before.redis;
    console.log(
      `${label.padEnd(24)} CPU per message ${per(nodes + pg + redis)} ` +
        `(nodes ${per(nodes)}, Postgres ${per(pg)}, Redis ${per(redis)}); ` +
        `p50 ${p(0.5)?.toFixed(1)} ms, p99 ${p(0.99)?.toFixed(1)} ms, lost ${lost}, ` +
        `${sent} messages in ${wall.toFixed(1)} s`,
    );
  } finally {
    await Promise.all(gens.map((g) => g.close()));
  }
}

const schema = (what: string) => `bench_${what}_${randomUUID().slice(0, 8)}`;
const sql = postgres(DATABASE_URL, { onnotice: () => {}, max: 1 });
const schemas: string[] = [];
try {
  console.log(
    `bench:cluster-cost: ${roomCount} rooms × ${memberCount} members, ${rate} msg/s for ${seconds} s`,
  );
  const single = schema('single');
  schemas.push(single);
  await sql.unsafe(`CREATE SCHEMA ${single}`);
  const one = await startProduct({ env: { DATABASE_URL, DATABASE_SCHEMA: single } });
  try {
    await run('one node (LevelDB + PG)', [one], 'spread');
  } finally {
    await one.stop();
  }

  const shared = schema('cluster');
  schemas.push(shared);
  await sql.unsafe(`CREATE SCHEMA ${shared}`);
  const redis = await connectRedis(`${REDIS_URL}/${REDIS_DB}`);
  await redis.flushDb();
  await redis.close();
  const nodes: Server[] = [];
  try {
    for (let i = 0; i < nodeCount; i++)
      nodes.push(
        await startProduct({
          ...(args['cpu-prof']
            ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}/node${i + 1}`] }
            : {}),
          env: {
            DATABASE_URL,
            DATABASE_SCHEMA: shared,
            REDIS_URL: `${REDIS_URL}/${REDIS_DB}`,
            NODE_ID: String(i + 1),
          },
        }),
      );
    for (const placement of placements) {
      await run(`${nodeCount} nodes, ${placement}`, nodes, placement);
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
} finally {
  for (const s of schemas) await sql.unsafe(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await sql.end();
}
