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
});
