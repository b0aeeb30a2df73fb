import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwarenessFloor, encodeEntries } from './awareness-floor.js';
import { type AwarenessEntry, readAwarenessEntries } from './clients.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const entry = (clientId: number, clock: number, state: unknown): AwarenessEntry => ({
  clientId,
  clock,
  state: JSON.stringify(state),
});

function floor(ms = 250) {
  const applied: AwarenessEntry[][] = [];
  const f = new AwarenessFloor<string>(ms, (_sender, update, entries) => {
    // The bytes and the entries must agree (merges are re-encoded).
    expect(readAwarenessEntries(update)).toEqual(entries);
    applied.push([...entries]);
  });
  const offer = (sender: string, ...entries: AwarenessEntry[]) =>
    f.offer(sender, encodeEntries(entries), entries);
  return { f, applied, offer };
}

describe('AwarenessFloor', () => {
  it('applies the first update at once and merges a burst, latest clock wins', () => {
    const { applied, offer } = floor();
    offer('bob', entry(7, 1, { n: 1 }));
    for (let n = 2; n <= 40; n++) offer('bob', entry(7, n, { n }));
    expect(applied).toEqual([[entry(7, 1, { n: 1 })]]);
    vi.advanceTimersByTime(250);
    expect(applied).toEqual([[entry(7, 1, { n: 1 })], [entry(7, 40, { n: 40 })]]);
  });

  it('lets removals through at once and drops held states they supersede', () => {
    const { applied, offer } = floor();
    offer('bob', entry(7, 1, { n: 1 }));
    offer('bob', entry(7, 2, { typing: true }));
    offer('bob', entry(7, 3, null));
    expect(applied.at(-1)).toEqual([entry(7, 3, null)]);
    vi.advanceTimersByTime(1000);
    expect(applied).toHaveLength(2); // the held typing state never resurrects bob
  });

  it('keeps senders apart and forgets one that left', () => {
    const { f, applied, offer } = floor();
    offer('bob', entry(1, 1, 'a'));
    offer('amy', entry(2, 1, 'b'));
    expect(applied).toHaveLength(2);
    offer('bob', entry(1, 2, 'c'));
    f.forget('bob');
    vi.advanceTimersByTime(1000);
    expect(applied).toHaveLength(2);
  });
});
