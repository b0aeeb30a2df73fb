/**
 * @module The server as a child process (`npm start`'s entry point), for tests that kill it with
 * SIGKILL and restart it on the same DATA_DIR.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { SERVER_ARGV } from '../server/command.js';
import { TEST_SECRET } from './helpers.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

/** Starts the server and resolves once it logs that it listens. */
export function startChild(
  dataDir: string,
  port: number,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...SERVER_ARGV], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info',
      // Streams as fast as it can: a flood by the default rate limit, and not what this tests.
      RATE_LIMIT_IDENTITY: 'off',
      // Single-node unless the test asks for a cluster (REDIS_URL with DATABASE_URL).
      REDIS_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"convosync listening"')) resolve(child);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
