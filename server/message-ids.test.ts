import { describe, expect, it } from 'vitest';
import { createIdGenerator, issuedAt } from './message-ids.js';
import { memoryStore } from './store/memory.js';

describe('message ids', () => {
  it('are unique, increasing BIGINTs, also when many are made in one millisecond', async () => {
    const ids = await createIdGenerator(memoryStore(), 5, () => 1_800_000_000_000);
    const made = Array.from({ length: 10_000 }, () => BigInt(ids.next()));
    expect(new Set(made).size).toBe(made.length);
    for (let i = 1; i < made.length; i++) expect(made[i]! > made[i - 1]!).toBe(true);
    expect(made.every((v) => v > 0n && v < 2n ** 63n)).toBe(true);
    expect(Number((made[0]! >> 12n) & 0x3ffn)).toBe(5); // the node id is in every id
  });

  it('never repeats an id after a restart, even when the clock stepped back', async () => {
    const store = memoryStore();
    let clock = 1_800_000_000_000;
    const first = await createIdGenerator(store, 0, () => clock);
    const before = Array.from({ length: 100 }, () => BigInt(first.next()));
    clock -= 3_600_000; // NTP step back by an hour, then a restart
    const second = await createIdGenerator(store, 0, () => clock);
    const after = BigInt(second.next());
    expect(before.every((v) => after > v)).toBe(true);
  });

  it('tell when they were issued, by the issuing clock', async () => {
    const at = 1_800_000_123_456;
    const ids = await createIdGenerator(memoryStore(), 7, () => at);
    expect(issuedAt(ids.next())).toBe(at);
    expect(issuedAt(ids.next())).toBe(at); // the sequence bits are not time
    expect(issuedAt('1')).toBeUndefined(); // before the epoch: no id of this layout
    expect(issuedAt('12a')).toBeUndefined();
  });
});
