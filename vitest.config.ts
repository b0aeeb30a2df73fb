import { defineConfig } from 'vitest/config';

// Tests sit beside the code (`*.test.ts`); cross-cutting scenarios live in test/e2e/.
// Every e2e test starts its own server on an ephemeral port with its own DATA_DIR, so files
// can run in parallel; the pool is forks because LevelDB and sockets are per process.
export default defineConfig({
  test: {
    include: ['{server,client,shared,scripts}/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    // With REDIS_URL set the cluster tests run, and one of them wipes Redis (FLUSHALL) under
    // load: one file at a time then. (Two at a time without it made `npm test` ~270 s instead of
    // ~400 s on 2 cores, but surfaced a timing race in one test in one of two runs: not yet.)
    ...(process.env.REDIS_URL ? { maxWorkers: 1 } : {}),
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
