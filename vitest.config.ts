import { defineConfig } from 'vitest/config';

// Tests sit beside the code (`*.test.ts`); cross-cutting scenarios live in test/e2e/.
// Every e2e test starts its own server on an ephemeral port with its own DATA_DIR, so files
// can run in parallel; the pool is forks because LevelDB and sockets are per process.
export default defineConfig({
  test: {
    include: ['{server,client,shared,scripts}/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
