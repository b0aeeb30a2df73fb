import { describe, expect, it } from 'vitest';
import { asIdentityId } from '../../shared/ids.js';
import { memoryStore } from '../store/memory.js';
import { InboxLists } from './lists.js';

const ann = asIdentityId('ann');

describe('InboxLists', () => {
  it('keeps concurrent joins of one identity, durably, and writes only on a change', async () => {
    const store = memoryStore();
    let writes = 0;
    const counting = {
      getMeta: (k: string) => store.getMeta(k),
      setMeta: async (k: string, v: string | number) => {
        writes += 1;
        await store.setMeta(k, v);
      },
    };
    const lists = new InboxLists(counting);
    expect(
      await Promise.all([lists.add(ann, 'a'), lists.add(ann, 'b'), lists.add(ann, 'a')]),
    ).toEqual([true, true, false]);
    expect(writes).toBe(2);
    expect(await lists.remove(ann, 'c')).toBe(false);
    expect(writes).toBe(2);
    // A new process reads what was written.
    expect([...(await new InboxLists(store).get(ann))].sort()).toEqual(['a', 'b']);
  });

  it('seeds a list never written from the entries an inbox already holds', async () => {
    const store = memoryStore();
    const lists = new InboxLists(store, async () => ['x', 'y']);
    expect([...(await lists.get(ann))]).toEqual(['x', 'y']);
    expect([...(await new InboxLists(store, async () => ['ignored']).get(ann))]).toEqual([
      'x',
      'y',
    ]);
  });

  it('seeds a list never written before its first change too (an upgrade keeps old entries)', async () => {
    const store = memoryStore();
    expect(await new InboxLists(store, async () => ['x', 'y']).add(ann, 'z')).toBe(true);
    expect([...(await new InboxLists(store).get(ann))].sort()).toEqual(['x', 'y', 'z']);
  });

  it('remembers the conversations left, the latest ones', async () => {
    const lists = new InboxLists(memoryStore());
    await lists.add(ann, 'a');
    await lists.add(ann, 'b');
    await lists.remove(ann, 'a');
    expect([...(await lists.left(ann))]).toEqual(['a']);
    await lists.add(ann, 'a');
    expect([...(await lists.left(ann))]).toEqual([]);
  });

  it('with a swap, two nodes with stale caches keep each other’s changes (cluster mode)', async () => {
    const store = memoryStore();
    const swap = async (key: string, expected: string | undefined, value: string) => {
      if ((await store.getMeta(key)) !== expected) return false;
      await store.setMeta(key, value);
      return true;
    };
    const seedNone = async () => [];
    const one = new InboxLists(store, seedNone, swap);
    const two = new InboxLists(store, seedNone, swap);
    // Both read (and cache) the empty list; then each adds a different conversation.
    expect(await one.get(ann)).toEqual(new Set());
    expect(await two.get(ann)).toEqual(new Set());
    expect(await one.add(ann, 'a')).toBe(true);
    expect(await two.add(ann, 'b')).toBe(true);
    expect(await one.remove(ann, 'x')).toBe(false); // stale cache: no change to make
    expect(await one.add(ann, 'c')).toBe(true);
    expect(await two.remove(ann, 'a')).toBe(true);
    const fresh = new InboxLists(store);
    expect([...(await fresh.get(ann))].sort()).toEqual(['b', 'c']);
    expect([...(await fresh.left(ann))]).toEqual(['a']);
    // `forget` drops a stale cache: the next read sees the other node's writes.
    expect([...(await one.get(ann))].sort()).toEqual(['a', 'b', 'c']);
    await one.forget(ann);
    expect([...(await one.get(ann))].sort()).toEqual(['b', 'c']);
  });
});
