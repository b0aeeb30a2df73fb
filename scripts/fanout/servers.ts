/**
 * @module The two servers bench:fanout measures, each a child process on a free loopback port:
 * convosync on its embedded defaults (LevelDB + PGlite, rate limits off) and the reference
 * `@y/websocket-server` 0.1.1 (in memory).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_ARGV } from '../../server/command.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_SECRET = 'bench-fanout-secret-that-is-long-enough-for-hs256';

export interface Server {
  name: 'convosync' | 'reference';
  process: ChildProcess;
  pid: number;
  http: string;
  /** The serverUrl a WebsocketProvider takes. */
  ws: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

async function ready(url: string, child: ChildProcess, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
}

export interface ProductOptions {
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

export async function startProduct(
  options: ProductOptions = {},
): Promise<Server & { dataDir: string }> {
  const port = await freePort();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-fanout-'));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...SERVER_ARGV], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      JWT_SECRET: BENCH_SECRET,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_IDENTITY: 'off',
      RATE_LIMIT_CONVERSATION: 'off',
      // Rooms without peers unload soon, so the cold-open case can read from disk.
      ROOM_IDLE_MS: '1000',
      ...options.env,
    },
  });
  const http = `http://127.0.0.1:${port}`;
  await ready(`${http}/ready`, child);
  return {
    name: 'convosync',
    process: child,
    pid: child.pid!,
    http,
    ws: `ws://127.0.0.1:${port}/sync`,
    dataDir,
    stop: stopper(child),
  };
}

export async function startReference(): Promise<Server> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'node_modules/@y/websocket-server/src/server.js')],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) },
    },
  );
  const http = `http://127.0.0.1:${port}`;
  await ready(http, child);
  return {
    name: 'reference',
    process: child,
    pid: child.pid!,
    http,
    ws: `ws://127.0.0.1:${port}`,
    stop: stopper(child),
  };
}
