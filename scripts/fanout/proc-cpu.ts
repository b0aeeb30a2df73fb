/**
 * @module CPU time of a whole process tree, read from /proc (Linux): the measured server plus
 * every process it started (a PGlite child, tsx's loader). Only deltas between two readings
 * mean anything; children that exit in between are lost, so start the reading after start-up.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ); 100 on every Linux we run on. */
const TICKS = 100;

interface Stat {
  ppid: number;
  ticks: number;
}

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // exited meanwhile
  }
}

/** Seconds of CPU (user + system) used so far by `root` and all its live descendants. */
export function treeCpuSeconds(root: number): number {
  const all = new Map<number, Stat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s) all.set(Number(entry), s);
  }
  const inTree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, s] of all) {
      if (!inTree.has(pid) && inTree.has(s.ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  let ticks = 0;
  for (const pid of inTree) ticks += all.get(pid)?.ticks ?? 0;
  return ticks / TICKS;
}

/** Measures the CPU share (1 = one core) that the trees of `pids` take while `f` runs. */
export async function measureCpu<T>(
  pids: number[],
  f: () => Promise<T>,
): Promise<{ result: T; cpu: number[]; wallSeconds: number }> {
  const before = pids.map(treeCpuSeconds);
  const start = performance.now();
  const result = await f();
  const wallSeconds = (performance.now() - start) / 1000;
  const cpu = pids.map((pid, i) => (treeCpuSeconds(pid) - before[i]!) / wallSeconds);
  return { result, cpu, wallSeconds };
}

/**
 * Waits until the tree of `pid` is quiet (under `share` of a core over 500 ms), so that a
 * backlog one run left behind (projection, compaction) does not land in the next run.
 */
export async function quiet(pid: number, share = 0.05, maxMs = 30_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const before = treeCpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 500));
    if ((treeCpuSeconds(pid) - before) / 0.5 < share) return;
  }
}
