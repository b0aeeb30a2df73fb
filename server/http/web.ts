/**
 * @module Serves the built web app (WEB_DIR, `npm run build:web`) at `/`: files by path, and
 * index.html for page loads (Accept: text/html) of any other path that is not a server route, so
 * client-side routes survive a reload.
 * Hashed assets are cached for good; index.html and the service worker are revalidated every
 * time, so a deploy reaches browsers on their next load.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from 'hono';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths owned by the server, never answered with the app shell. */
const SERVER_PATHS = /^\/(api|sync|health|ready|metrics)(\/|$)/;

export function webApp(dir: string) {
  const root = path.resolve(dir);
  return async (c: Context): Promise<Response | undefined> => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return undefined;
    const url = new URL(c.req.url);
    if (SERVER_PATHS.test(url.pathname)) return undefined;
    let relative: string;
    try {
      relative = decodeURIComponent(url.pathname);
    } catch {
      return undefined;
    }
    const file = path.resolve(root, `.${relative}`);
    // Never outside WEB_DIR (`..`, encoded or not).
    if (file !== root && !file.startsWith(root + path.sep)) return undefined;
    // The app shell answers page loads (client routes survive a reload); other requests for a
    // missing file fall through to the JSON 404, like any unknown path.
    const page = url.pathname === '/' || (c.req.header('accept') ?? '').includes('text/html');
    const found =
      (await readFile(file)) ?? (page ? await readFile(path.join(root, 'index.html')) : undefined);
    if (!found && !page) return undefined;
    if (!found) {
      return c.text(
        'The web app is not built. Run `npm run build:web` (npm start does it) or set WEB_DIR.',
        404,
      );
    }
    const immutable = found.path.includes(`${path.sep}assets${path.sep}`);
    return c.body(new Uint8Array(found.body), 200, {
      'content-type': TYPES[path.extname(found.path)] ?? 'application/octet-stream',
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    });
  };
}

async function readFile(file: string): Promise<{ path: string; body: Buffer } | undefined> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return undefined;
    return { path: file, body: await fs.readFile(file) };
  } catch {
    return undefined;
  }
}
