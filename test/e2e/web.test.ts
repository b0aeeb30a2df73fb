/**
 * The web app's server side: the built app served at `/` (with index.html for client routes,
 * never for API paths, never outside WEB_DIR), and the development sign-in, which exists only
 * without a production JWT_SECRET.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { parseConfig } from '../../server/config.js';
import { type RunningServer, startServer } from '../../server/server.js';
import { startTestServer, type TestServer, tempDir } from '../helpers.js';

const running: Array<RunningServer | TestServer> = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});

async function builtApp(): Promise<string> {
  const dir = await tempDir('convosync-web-');
  await fs.mkdir(path.join(dir, 'assets'));
  await fs.writeFile(path.join(dir, 'index.html'), '<!doctype html><title>app</title>');
  await fs.writeFile(path.join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
  await fs.writeFile(path.join(dir, 'sw.js'), 'self.x = 1');
  return dir;
}

async function devServer(env: Record<string, string>): Promise<RunningServer> {
  const server = await startServer(
    parseConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: await tempDir(),
      LOG_LEVEL: 'silent',
      SNAPSHOTS: 'off',
      ...env,
    }),
  );
  running.push(server);
  return server;
}

it('serves the built app, its client routes, and caches only hashed assets for good', async () => {
  const server = await devServer({ WEB_DIR: await builtApp() });
  const index = await fetch(`${server.url}/`);
  expect(index.status).toBe(200);
  expect(index.headers.get('content-type')).toMatch(/text\/html/);
  expect(index.headers.get('cache-control')).toBe('no-cache');
  expect(await index.text()).toContain('<title>app</title>');
  const route = await fetch(`${server.url}/c/private_alice_bob`, {
    headers: { accept: 'text/html' },
  });
  expect(await route.text()).toContain('<title>app</title>');
  const asset = await fetch(`${server.url}/assets/app-1234.js`);
  expect(asset.headers.get('cache-control')).toContain('immutable');
  expect((await fetch(`${server.url}/sw.js`)).headers.get('cache-control')).toBe('no-cache');
  // API paths keep their own answers; nothing outside WEB_DIR is readable.
  const api = await fetch(`${server.url}/api/v1/nothing`);
  expect(api.status).toBe(401);
  for (const probe of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json']) {
    const res = await fetch(`${server.url}${probe}`);
    expect(await res.text()).not.toContain('"name": "convosync"');
  }
});

it('says how to build the app when WEB_DIR holds none', async () => {
  const server = await devServer({ WEB_DIR: await tempDir() });
  const res = await fetch(`${server.url}/`);
  expect(res.status).toBe(404);
  expect(await res.text()).toContain('npm run build:web');
});

it('mints development tokens only without a production secret', async () => {
  const dev = await devServer({});
  const minted = await fetch(`${dev.url}/api/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity: 'alice' }),
  });
  const { data } = (await minted.json()) as { data: { token: string } };
  const use = await fetch(`${dev.url}/api/v1/presence?identities=bob`, {
    headers: { authorization: `Bearer ${data.token}` },
  });
  expect(use.status).toBe(200);
  const bad = await fetch(`${dev.url}/api/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity: 'no spaces allowed' }),
  });
  expect(bad.status).toBe(400);

  const production = await startTestServer(); // JWT_SECRET set
  running.push(production);
  const refused = await fetch(`${production.httpUrl}/api/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity: 'alice' }),
  });
  expect(refused.status).toBe(404);
});
