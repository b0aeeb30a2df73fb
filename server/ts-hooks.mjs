/**
 * Module hooks that run convosync's TypeScript sources directly on Node 20, for `npm start`
 * and the benchmarks: imports of `./x.js` find `./x.ts`, and `.ts` files are transformed by
 * esbuild (types stripped, nothing else). Why not tsx, which the tests and scripts use: tsx
 * compiles with esbuild's `keepNames`, which wraps every function created at run time in
 * `__name(fn, "…")`, an `Object.defineProperty` per closure per call; on the message path that
 * was about 3 % of the sync thread's CPU. Nothing in convosync reads a function's name.
 */
import { readFile } from 'node:fs/promises';
import { transform } from 'esbuild';

/** @type {import('node:module').ResolveHook} */
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    // TypeScript's NodeNext style names the emitted file: `./room.js` is `./room.ts` here.
    const relative = specifier.startsWith('.') || specifier.startsWith('file:');
    if (!relative || !specifier.endsWith('.js') || error?.code !== 'ERR_MODULE_NOT_FOUND')
      throw error;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

/** @type {import('node:module').LoadHook} */
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { code } = await transform(source, {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    sourcefile: url,
    sourcemap: 'inline',
    // As tsconfig.json: ES2022 class fields (define semantics), imports kept as written.
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true, verbatimModuleSyntax: true } },
  });
  return { format: 'module', source: code, shortCircuit: true };
}
