import { expect, it } from 'vitest';
import { inBatches } from './in-batches.js';

it('runs every item, never more than the limit at once, and goes on past failures', async () => {
  let running = 0;
  let most = 0;
  const done: number[] = [];
  await inBatches(
    Array.from({ length: 50 }, (_, i) => i),
    16,
    async (i) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      running -= 1;
      if (i % 7 === 0) throw new Error(`item ${i} fails`);
      done.push(i);
    },
  );
  expect(most).toBe(16);
  expect(done.length).toBe(50 - 8); // 0, 7, ..., 49 failed
  expect(running).toBe(0);
});
