import { fileURLToPath } from 'node:url';

/**
 * Node's arguments that run the server as `npm start` does (TypeScript through convosync's own
 * module hooks, see ts-hooks.mjs), for the tests and benchmarks that spawn it: they measure and
 * test what is shipped, not a different loader.
 */
export const SERVER_ARGV: readonly string[] = [
  '--import',
  fileURLToPath(new URL('./ts-register.mjs', import.meta.url)),
  fileURLToPath(new URL('./main.ts', import.meta.url)),
];
