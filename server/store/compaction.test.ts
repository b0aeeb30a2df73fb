import { expect, it } from 'vitest';
import { CompactionPolicy } from './compaction.js';

/** Appends `count` updates of `size` bytes; returns the bytes compactions rewrote. */
function run(policy: CompactionPolicy, count: number, size: number) {
  let live = 0;
  let rewritten = 0;
  let compactions = 0;
  for (let i = 0; i < count; i++) {
    live += size;
    if (policy.appended(size)) {
      rewritten += live; // a compaction rewrites the whole document
      compactions += 1;
      policy.taken();
      policy.settled();
    }
  }
  return { rewritten, compactions };
}

it('rewrites each byte a bounded number of times, however long the conversation grows', () => {
  // 20,000 messages of 1 KB: a fixed every-500 policy rewrote 40 × the average size
  // (≈ 20 × the bytes appended); the geometric one stays within 1 + 1/ratio = 3.
  const appended = 20_000 * 1_000;
  const { rewritten, compactions } = run(new CompactionPolicy(0, 0), 20_000, 1_000);
  expect(rewritten / appended).toBeLessThanOrEqual(3);
  expect(compactions).toBeGreaterThan(3); // it still merges as the log grows
  const small = run(new CompactionPolicy(0, 0), 2_000, 1_000);
  expect(small.compactions).toBeGreaterThanOrEqual(2); // small documents merge every 500 or so
});

it('merges after `every` entries, or after half the document when that is more, counting a loaded log', () => {
  const policy = new CompactionPolicy(499, 4_990_000); // a log of 499 updates of 10 KB, loaded
  expect(policy.appended(10_000)).toBe(true); // the 500th entry
  policy.taken(); // 5 MB merged
  policy.settled();
  let appends = 0;
  while (!policy.appended(1_000)) appends += 1;
  expect(appends + 1).toBe(2_500); // 2.5 MB since: half of the 5 MB merged (not 500 entries)
  policy.taken();
  policy.settled();
  const small = new CompactionPolicy(0, 0);
  appends = 0;
  while (!small.appended(100)) appends += 1;
  expect(appends + 1).toBe(500); // a small document: the entry floor decides
});

it('asks for no second compaction while one is still being merged and written', () => {
  const policy = new CompactionPolicy(499, 499_000);
  expect(policy.appended(1_000)).toBe(true);
  policy.taken(); // a large log: replayed on the merge thread for a while
  let asked = 0;
  for (let i = 0; i < 5_000; i++) if (policy.appended(1_000)) asked += 1;
  expect(asked).toBe(0); // the same log would be replayed again, for nothing
  policy.settled();
  expect(policy.appended(1_000)).toBe(true); // due since long: asked at the next append
});
