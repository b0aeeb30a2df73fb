import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM module without types, loaded by Node's --import
import { load, resolve } from './ts-hooks.mjs';

type Next = (specifier: string, context?: unknown) => Promise<unknown>;
const here = (file: string) => pathToFileURL(new URL(file, import.meta.url).pathname).href;

describe('ts-hooks (npm start’s loader)', () => {
  it('compiles a module without wrapping its closures in __name (tsx’s keepNames)', async () => {
    const nextLoad: Next = () => Promise.reject(new Error('not a .ts file'));
    const { source, format } = (await load(here('./sync/room.ts'), {}, nextLoad)) as {
      source: string;
      format: string;
    };
    expect(format).toBe('module');
    expect(source).toContain('class Room');
    expect(source).not.toMatch(/__name\(/);
    expect(source).not.toMatch(/:\s*Promise<void>/); // the types are stripped
  });

  it('finds ./x.ts for an import of ./x.js, and leaves other failures alone', async () => {
    const parent = here('./server.ts');
    const nextResolve: Next = async (specifier) => {
      if (specifier.endsWith('.ts')) return { url: new URL(specifier, parent).href };
      throw Object.assign(new Error(`no ${specifier}`), { code: 'ERR_MODULE_NOT_FOUND' });
    };
    await expect(resolve('./config.js', { parentURL: parent }, nextResolve)).resolves.toEqual({
      url: here('./config.ts'),
    });
    await expect(resolve('yjs-missing.js', { parentURL: parent }, nextResolve)).rejects.toThrow(
      'no yjs-missing.js',
    );
  });
});
