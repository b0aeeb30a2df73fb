/**
 * Splits a `node --cpu-prof` profile's busy time by where the code lives (PGlite, LevelDB,
 * Yjs/lib0, ws/net, convosync's own folders, ...), the split issue 13 records.
 *   npx tsx scripts/fanout/profile-split.ts [--from=S --to=S] <file.cpuprofile>...
 * --from/--to: only the samples between those seconds of the profile (the measured run, not the
 * set-up of rooms before it); `--timeline` prints the busy share of each second to find them.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const buckets: Array<[string, RegExp]> = [
  ['PGlite (incl. its WebAssembly)', /pglite|^wasm:/],
  ['LevelDB (level, y-leveldb)', /level|y-leveldb/],
  ['postgres driver', /node_modules\/postgres\//],
  ['Yjs and lib0', /node_modules\/(yjs|lib0|y-protocols)\//],
  ['ws', /node_modules\/ws\//],
  ['hono', /node_modules\/(hono|@hono)\//],
  ['server/sync (room, filter, stamp)', /\/server\/sync\//],
  ['server/inbox', /\/server\/inbox\//],
  ['server/projector', /\/server\/projector\//],
  ['server/store', /\/server\/store\/|\/shared\/leveldb/],
  ['server/db', /\/server\/db\//],
  ['shared (rules, schema)', /\/shared\//],
  ['server (other)', /\/server\//],
  ['prom-client', /prom-client/],
  ['node internals, no caller in JS (net, timers)', /^node:|^internal/],
];

const flags = new Map(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => [a.slice(2).split('=')[0]!, a.split('=')[1] ?? ''] as const),
);
const from = Number(flags.get('from') ?? 0) * 1e6;
const to = Number(flags.get('to') ?? Number.POSITIVE_INFINITY) * 1e6;

for (const file of process.argv.slice(2).filter((a) => !a.startsWith('--'))) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  if (flags.has('timeline')) {
    const idle = new Set(
      profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
    );
    const perSecond = new Map<number, number>();
    let t = 0;
    for (const [i, id] of profile.samples.entries()) {
      t += profile.timeDeltas[i] ?? 0;
      if (idle.has(id)) continue;
      const s = Math.floor(t / 1e6);
      perSecond.set(s, (perSecond.get(s) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
    console.log(
      `${file}: busy share per second: ` +
        [...perSecond].map(([s, us]) => `${s}:${Math.round(us / 1e4)}%`).join(' '),
    );
    continue;
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = 0;
  for (const [i, id] of profile.samples.entries()) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  // Attribute a native/anonymous frame (url '') to its nearest ancestor with a url.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Node's own code (streams, timers, promises) counts for the library that called it, so that
  // a socket write lands with ws and a LevelDB iterator's promises with LevelDB.
  const urlOf = (id: number): string => {
    let first = '';
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur)!.callFrame.url;
      if (!url) continue;
      first ||= url;
      if (!/^node:|^internal|\/tsx\/dist\//.test(url)) return url;
    }
    return first;
  };
  const totals = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const name = byId.get(id)!.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      idle += name === '(idle)' ? us : 0;
      if (name === '(idle)') continue;
    }
    busy += us;
    const url = name === '(garbage collector)' ? 'gc' : urlOf(id);
    const bucket =
      name === '(garbage collector)'
        ? 'garbage collector'
        : name === '(program)'
          ? '(program: native, unattributed)'
          : (buckets.find(([, re]) => re.test(url))?.[0] ??
            `other: ${url.split('/').slice(-2).join('/') || '(native)'}`);
    totals.set(bucket, (totals.get(bucket) ?? 0) + us);
  }
  console.log(`${file}: busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s`);
  for (const [bucket, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 18))
    console.log(`  ${((us / busy) * 100).toFixed(1).padStart(5)} %  ${bucket}`);
}
