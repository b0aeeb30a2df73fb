import { defineConfig } from 'vitest/config';

// Tests sit beside the code (`*.test.ts`); cross-cutting scenarios live in test/e2e/.
// Every e2e test starts its own server on an ephemeral port with its own DATA_DIR, so files
// can run in parallel; the pool is forks because LevelDB and sockets are per process.
export default defineConfig({
  test: {
    include: ['{server,client,shared,scripts}/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    // Two files at a time on the 2-core machines this runs on (vitest's default would be one:
    // its CPUs less one), which brings `npm test` from ~400 s to ~270 s. With REDIS_URL set the
    // cluster tests run, and one of them wipes Redis (FLUSHALL) under load: one file at a time.
    maxWorkers: process.env.REDIS_URL ? 1 : 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
