/**
 * convosync next to the reference y-websocket server, side by side in one run (issue 13).
 *
 * Both servers run as child processes: convosync on its embedded defaults (LevelDB + PGlite,
 * rate limits off) and `@y/websocket-server` 0.1.1 in memory. The same load generator, in
 * processes of its own, drives both: rooms × members, each member a real y-websocket client
 * with its own Y.Doc, 120-byte text messages written the way the SDK writes them, on an open-loop
 * schedule; each message is timed at every other member's client. CPU is each server's whole
 * process tree, read from /proc. Rates run interleaved (convosync, then the reference, at each
 * rate) so background load on a shared machine hits both alike; the ratio is the figure to read.
 *
 *   npm run bench:fanout                     # full: 200..3000 msg/s, 10 s each, plus scenarios
 *   npm run bench:fanout -- --quick          # 300 and 1000 msg/s, 3 s each, smaller scenarios
 *   npm run bench:fanout -- --rates=300,1000 --seconds=5 --rooms=50 --members=4 --gens=2
 *   npm run bench:fanout -- --only=convosync --rates=300 --cpu-prof=/tmp/prof
 *   npm run bench:fanout -- --only=convosync --rates=300 --node-flags="--trace-gc"
 *   npm run bench:fanout -- --rates=none --scenarios=big --big-rate=200   # one scenario only
 *   options: --warmup=S (seconds of uncounted load per server first, default 30; 2 with --quick), --no-scenarios, --big-rate=N (500-member group), --burst=N, --bursts=N (default 7), --open=N,
 *            --env=SNAPSHOTS=off,... (extra environment for convosync)
 */
import { parseArgs } from 'node:util';
import { Gen, productRoom } from './fanout/gen.js';
import { measureCpu, quiet, treeCpuSeconds } from './fanout/proc-cpu.js';
import type { Member, Reply, RoomSpec, RunResult } from './fanout/protocol.js';
import { type Server, startProduct, startReference } from './fanout/servers.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rates: { type: 'string' },
    seconds: { type: 'string' },
    rooms: { type: 'string', default: '50' },
    members: { type: 'string', default: '4' },
    gens: { type: 'string', default: '2' },
    only: { type: 'string' },
    'no-scenarios': { type: 'boolean', default: false },
    /** Which scenarios run: big (500-member group), burst, open; default all three. */
    scenarios: { type: 'string', default: 'big,burst,open' },
    'big-rate': { type: 'string' },
    burst: { type: 'string', default: '1000' },
    /** Offline bursts per server, each into a fresh conversation: the first and the median. */
    bursts: { type: 'string', default: '7' },
    open: { type: 'string' },
    'cpu-prof': { type: 'string' },
    /** Extra node flags for convosync, space-separated, e.g. --node-flags="--trace-gc". */
    'node-flags': { type: 'string' },
    'p99-limit': { type: 'string', default: '50' },
    /** Seconds each server runs at the first rate before anything is measured (0: none). */
    warmup: { type: 'string' },
    /** Extra environment for convosync, e.g. --env=SNAPSHOTS=off,PROJECTOR_MAX_DELAY_MS=5000 */
    env: { type: 'string' },
  },
});
const quick = args.quick;
// --rates=none runs only the scenarios.
const rates = (args.rates ?? (quick ? '300,1000' : '200,300,500,1000,2000,3000'))
  .split(',')
  .filter((r) => r !== 'none')
  .map(Number);
const scenarioNames = new Set(args.scenarios.split(','));
const seconds = Number(args.seconds ?? (quick ? 3 : 10));
const roomCount = Number(args.rooms);
const memberCount = Number(args.members);
const gens = Number(args.gens);
const bigRate = Number(args['big-rate'] ?? rates[0] ?? 200);
const burstCount = Number(args.burst);
const burstRuns = Math.max(1, Number(args.bursts));
const openCount = Number(args.open ?? (quick ? 2000 : 10_000));
const p99Limit = Number(args['p99-limit']);
const which = (args.only ?? 'convosync,reference').split(',');

interface Target {
  server: Server;
  gens: Gen[];
  /** Creates a conversation of `members` (ids) and tells its name and their credentials. */
  room(tag: string, ids: string[]): Promise<{ name: string; members: Member[] }>;
}

async function target(server: Server): Promise<Target> {
  const room =
    server.name === 'convosync'
      ? (_tag: string, ids: string[]) => productRoom(server, ids)
      : async (tag: string, ids: string[]) => ({ name: tag, members: ids.map((id) => ({ id })) });
  const specs: RoomSpec[] = [];
  for (let r = 0; r < roomCount; r++) {
    const ids = Array.from({ length: memberCount }, (_, m) => `r${r}m${m}`);
    specs.push(await room(`room-${r}`, ids));
  }
  const list = Array.from({ length: gens }, () => new Gen());
  await Promise.all(
    list.map((g, i) =>
      g.ask({ type: 'setup', url: server.ws, rooms: specs.filter((_, r) => r % gens === i) }),
    ),
  );
  return { server, gens: list, room };
}

interface Row {
  rate: number;
  cpu: number;
  genCpu: number;
  /** Server CPU seconds per delivered message (ms). */
  cpuPerMessageMs: number;
  /**
   * The same with the work the run left behind (projections after the debounce, compaction),
   * counted until the server is quiet again: what a message costs in all.
   */
  cpuAllPerMessageMs: number;
  p50: number;
  p99: number;
  lost: number;
  sent: number;
  /** convosync: LevelDB writes (appends, compactions) per message and per group-commit batch. */
  store?: { writesPerMessage: number; writesPerBatch: number };
  /** convosync: p99 of the delay from a change to its projection, as a histogram bucket bound. */
  projectionLagP99?: number;
  /** convosync: p50 / p99 of a step's wait for its group-committed batch (bucket bounds, s). */
  persist?: { p50: number | undefined; p99: number | undefined };
}

/** What convosync's /metrics tells about a run: store batches and projection delays. */
interface Scrape {
  /** convosync_store_batch_writes: sum = writes, count = batches. */
  writes: number;
  batches: number;
  /** convosync_projection_delay_seconds, cumulative count per bucket bound (seconds). */
  lag: Map<number, number>;
  /** convosync_persist_seconds: from a step's append to its batch on disk (group commit). */
  persist: Map<number, number>;
}

async function scrape(t: Target): Promise<Scrape | undefined> {
  if (t.server.name !== 'convosync') return undefined;
  const text = await (await fetch(`${t.server.http}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  const buckets = (name: string) => {
    const counts = new Map<number, number>();
    for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm')))
      counts.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
    return counts;
  };
  return {
    writes: value('convosync_store_batch_writes_sum'),
    batches: value('convosync_store_batch_writes_count'),
    lag: buckets('convosync_projection_delay_seconds'),
    persist: buckets('convosync_persist_seconds'),
  };
}

/** The bucket bound under which `share` of a histogram's observations in the run fall. */
function bucketAt(
  before: Map<number, number>,
  after: Map<number, number>,
  share: number,
): number | undefined {
  const total =
    (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  if (!(total > 0)) return undefined;
  for (const [le, count] of [...after].sort((a, b) => a[0] - b[0]))
    if (count - (before.get(le) ?? 0) >= share * total) return le;
  return undefined;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** What one load process does in a run: send at `rate`, expect `expect` deliveries. */
interface Part {
  gen: Gen;
  rate: number;
  expect: number;
}

/** Steady load over the target's rooms: each load process drives its own rooms. */
const steady = (t: Target, rate: number, secs: number): Part[] =>
  t.gens.map((gen) => ({
    gen,
    rate: rate / t.gens.length,
    expect: Math.round((rate / t.gens.length) * secs) * (memberCount - 1),
  }));

async function measure(t: Target, parts: Part[], rate: number, secs: number): Promise<Row> {
  await quiet(t.server.pid);
  const storeBefore = await scrape(t);
  const serverBefore = treeCpuSeconds(t.server.pid);
  const { result, cpu, wallSeconds } = await measureCpu(
    [t.server.pid, ...parts.map((p) => p.gen.pid)],
    () =>
      Promise.all(
        parts.map((p) =>
          p.gen.ask({
            type: 'run',
            rate: p.rate,
            seconds: secs,
            drainMs: 10_000,
            expect: p.expect,
          }),
        ),
      ),
  );
  const runs = result.map((r) => (r as { result: RunResult }).result);
  for (const line of runs.flatMap((r) => r.missing ?? []).slice(0, 20))
    console.log(`    missing: ${line}`);
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const sent = runs.reduce((s, r) => s + r.sent, 0);
  // What the run left to do (inbox passes, projections) counts for it too.
  await quiet(t.server.pid);
  const cpuAll = treeCpuSeconds(t.server.pid) - serverBefore;
  const storeAfter = await scrape(t);
  const store =
    storeBefore && storeAfter
      ? {
          writesPerMessage: (storeAfter.writes - storeBefore.writes) / sent,
          writesPerBatch:
            (storeAfter.writes - storeBefore.writes) / (storeAfter.batches - storeBefore.batches),
        }
      : undefined;
  const projectionLagP99 =
    storeBefore && storeAfter ? bucketAt(storeBefore.lag, storeAfter.lag, 0.99) : undefined;
  const persist =
    storeBefore && storeAfter
      ? {
          p50: bucketAt(storeBefore.persist, storeAfter.persist, 0.5),
          p99: bucketAt(storeBefore.persist, storeAfter.persist, 0.99),
        }
      : undefined;
  return {
    ...(store ? { store } : {}),
    ...(projectionLagP99 !== undefined ? { projectionLagP99 } : {}),
    ...(persist ? { persist } : {}),
    rate,
    cpu: cpu[0]!,
    genCpu: cpu.slice(1).reduce((a, b) => a + b, 0),
    cpuPerMessageMs: ((cpu[0]! * wallSeconds) / sent) * 1000,
    cpuAllPerMessageMs: (cpuAll / sent) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    lost: runs.reduce((s, r) => s + r.expected - r.received, 0),
    sent,
  };
}

const storeText = (row: Row) =>
  (row.store && Number.isFinite(row.store.writesPerBatch)
    ? `; LevelDB ${row.store.writesPerMessage.toFixed(1)} writes/message, ` +
      `${row.store.writesPerBatch.toFixed(1)} writes/batch`
    : '') +
  (row.projectionLagP99 !== undefined ? `; projection lag p99 ≤ ${row.projectionLagP99} s` : '') +
  (row.persist?.p99 !== undefined
    ? `; persist (group commit) p50 ≤ ${(row.persist.p50 ?? Number.NaN) * 1000} ms, p99 ≤ ${row.persist.p99 * 1000} ms`
    : '');
const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
const ms = (x: number) => (Number.isNaN(x) ? '—' : `${x.toFixed(1)} ms`);
const passes = (row: Row) => row.lost === 0 && row.p99 <= p99Limit;

async function main(): Promise<void> {
  console.log(
    `bench:fanout: ${roomCount} rooms × ${memberCount} members, ${seconds} s per rate, ` +
      `${gens} load processes, rates ${rates.join(', ')} msg/s`,
  );
  const servers: Server[] = [];
  if (which.includes('convosync'))
    servers.push(
      await startProduct({
        nodeArgs: [
          ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : []),
          ...(args['node-flags']?.split(' ').filter(Boolean) ?? []),
        ],
        env: Object.fromEntries(
          (args.env ?? '')
            .split(',')
            .filter(Boolean)
            .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
        ),
      }),
    );
  if (which.includes('reference')) servers.push(await startReference());
  try {
    const targets = await Promise.all(servers.map(target));
    const rows = new Map<Server['name'], Row[]>(servers.map((s) => [s.name, []]));
    const failed = new Set<Server['name']>();
    // Both servers first run a load that is not counted: the first seconds after start
    // measured 2-3× the steady cost per message (V8 compiling the message path, the heap
    // growing), which a server pays once, not per message. It lasts longer than the message
    // path's own warm-up: in one convosync process at 300 msg/s, V8's helper threads took
    // 9.9 % of a core 15-25 s after the start and 2.6 % 60-70 s after it (the main thread and
    // PGlite's unchanged), so the default is 30 s rather than a few.
    const warmup = Number(args.warmup ?? (quick ? 2 : 30));
    if (warmup > 0 && rates.length > 0)
      for (const t of targets) await measure(t, steady(t, rates[0]!, warmup), rates[0]!, warmup);
    for (const rate of rates) {
      for (const t of targets) {
        if (failed.has(t.server.name)) continue;
        const row = await measure(t, steady(t, rate, seconds), rate, seconds);
        rows.get(t.server.name)!.push(row);
        // Past its limit above 1,000 msg/s, higher rates only pile up a backlog.
        if (!passes(row) && rate >= 1000) failed.add(t.server.name);
        console.log(
          `  ${t.server.name.padEnd(9)} ${String(rate).padStart(5)} msg/s: CPU ${pct(row.cpu)}, ` +
            `p50 ${ms(row.p50)}, p99 ${ms(row.p99)}, lost ${row.lost}, ` +
            `${row.cpuPerMessageMs.toFixed(2)} ms CPU/message, ${row.cpuAllPerMessageMs.toFixed(2)} ms ` +
            `with what the run left (load generator ${pct(row.genCpu)})` +
            storeText(row),
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    report(rows);
    try {
      if (!args['no-scenarios']) for (const t of targets) await scenarios(t);
    } finally {
      for (const t of targets) for (const g of t.gens) await g.close();
    }
  } finally {
    for (const s of servers) await s.stop();
  }
}

function report(rows: Map<Server['name'], Row[]>): void {
  const product = rows.get('convosync') ?? [];
  const reference = rows.get('reference') ?? [];
  console.log(
    '\n| rate | convosync CPU | p50 / p99 | lost | reference CPU | p50 / p99 | lost | CPU ratio | CPU/message ratio, all work |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const rate of rates) {
    const p = product.find((r) => r.rate === rate);
    const r = reference.find((x) => x.rate === rate);
    const cell = (x?: Row) =>
      x ? `${pct(x.cpu)} | ${ms(x.p50)} / ${ms(x.p99)} | ${x.lost}` : '— | — | —';
    const ratio = p && r ? `${(p.cpu / r.cpu).toFixed(1)}×` : '—';
    const all = p && r ? `${(p.cpuAllPerMessageMs / r.cpuAllPerMessageMs).toFixed(1)}×` : '—';
    console.log(`| ${rate} msg/s | ${cell(p)} | ${cell(r)} | ${ratio} | ${all} |`);
  }
  for (const [name, list] of rows) {
    const best = list.filter(passes).at(-1);
    console.log(
      `${name}: highest rate with p99 ≤ ${p99Limit} ms and no loss: ${best ? `${best.rate} msg/s` : 'none of those run'}` +
        (best && best === list.at(-1) && best.rate === rates.at(-1)
          ? ' (the highest rate run)'
          : ''),
    );
  }
}

/** The 500-member group, the offline burst and the cold open, against one server. */
async function scenarios(t: Target): Promise<void> {
  const name = t.server.name;
  const group = Array.from({ length: gens }, () => new Gen());
  const gen = group[0]!;
  try {
    // The burst and the open connect to the url a setup gives (the big group's, or none).
    if (!scenarioNames.has('big'))
      await Promise.all(group.map((g) => g.ask({ type: 'setup', url: t.server.ws, rooms: [] })));
    if (scenarioNames.has('big')) {
      // A 500-member group with 50 members online, spread over the load processes; the first
      // one sends, every online member receives.
      const ids = Array.from({ length: 500 }, (_, m) => `big${m}`);
      const big = await t.room('big-group', ids);
      const online = big.members.slice(0, 50);
      const mine = group.map((_, i) => online.filter((_, m) => m % gens === i));
      await Promise.all(
        group.map((g, i) =>
          g.ask({
            type: 'setup',
            url: t.server.ws,
            rooms: [{ name: big.name, members: mine[i]! }],
          }),
        ),
      );
      const total = Math.round(bigRate * seconds);
      const parts = group.map((g, i) => ({
        gen: g,
        rate: i === 0 ? bigRate : 0,
        expect: total * (mine[i]!.length - (i === 0 ? 1 : 0)),
      }));
      const row = await measure(t, parts, bigRate, seconds);
      console.log(
        `${name}: 500-member group, 50 online, ${bigRate} msg/s: CPU ${pct(row.cpu)}, ` +
          `${row.cpuPerMessageMs.toFixed(2)} ms CPU/message, p50 ${ms(row.p50)}, p99 ${ms(row.p99)}, ` +
          `lost ${row.lost} (load generator ${pct(row.genCpu)})${storeText(row)}`,
      );
      for (const g of group) await g.ask({ type: 'close' });
      await quiet(t.server.pid);
    }

    if (scenarioNames.has('burst')) {
      // 1,000 messages written offline, then one connection: until the peer has them all. One
      // burst is one sample of a path that runs once per reconnect, so each server gets several,
      // each into a fresh conversation: the first (the code path still cold in a server that has
      // only relayed short messages) and the median of all.
      const times: number[] = [];
      for (let i = 0; i < burstRuns; i++) {
        const pair = await t.room(`burst${i}`, [`burst-writer${i}`, `burst-reader${i}`]);
        const burst = await gen.ask({
          type: 'burst',
          room: pair.name,
          writer: pair.members[0]!,
          reader: pair.members[1]!,
          count: burstCount,
        });
        if (burst.type !== 'timed' || !burst.ok)
          throw new Error(`burst ${i} failed: ${JSON.stringify(burst)}`);
        times.push(burst.ms);
        await new Promise((r) => setTimeout(r, 200));
      }
      const sorted = [...times].sort((a, b) => a - b);
      console.log(
        `${name}: ${burstCount} offline messages reach the peer in ${ms(percentile(sorted, 50))} ` +
          `(median of ${times.length}; first ${ms(times[0]!)}, fastest ${ms(sorted[0]!)}, ` +
          `slowest ${ms(sorted.at(-1)!)})`,
      );
    }

    if (scenarioNames.has('open')) {
      // A fresh client opens a conversation of openCount messages.
      await quiet(t.server.pid);
      const conv = await t.room('open', ['open-writer', 'open-reader']);
      const fill = await gen.ask({
        type: 'fill',
        room: conv.name,
        writer: conv.members[0]!,
        count: openCount,
      });
      if (fill.type !== 'timed' || !fill.ok) throw new Error('filling the conversation failed');
      await quiet(t.server.pid);
      const open = async (how: string) => {
        const reply = await gen.ask({
          type: 'open',
          room: conv.name,
          member: conv.members[1]!,
          count: openCount,
        });
        console.log(
          `${name}: a fresh client opens ${openCount} messages (${how}) in ${timed(reply)}`,
        );
      };
      await open('room loaded');
      // Another client with nothing (a web page reloaded, a new device): convosync serves it
      // the encoding it kept from the first (server/sync/full-state.ts).
      await open('room loaded, the next fresh client');
      if (name === 'convosync') {
        await gen.ask({ type: 'unfill' });
        await new Promise((r) => setTimeout(r, 4000)); // ROOM_IDLE_MS=1000: the room unloads
        await open('from disk');
      }
    }
  } finally {
    for (const g of group) await g.close();
  }
}

const timed = (reply: Reply) =>
  reply.type === 'timed' ? (reply.ok ? ms(reply.ms) : `FAILED (${JSON.stringify(reply)})`) : '?';

await main();
