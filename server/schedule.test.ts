import { afterEach, describe, expect, it, vi } from 'vitest';
import { Debounce, dueAt } from './schedule.js';

describe('dueAt', () => {
  it('waits the debounce after the latest change, at most the maximum after the first', () => {
    const times = { debounceMs: 50, maxDelayMs: 500 };
    expect(dueAt(0, 0, times)).toBe(50);
    expect(dueAt(0, 100, times)).toBe(150);
    expect(dueAt(0, 480, times)).toBe(500);
  });
});

describe('Debounce', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs a key once after a burst, and within the maximum delay under a steady stream', () => {
    vi.useFakeTimers();
    const ran: Array<[string, number]> = [];
    const d = new Debounce<string>({ debounceMs: 50, maxDelayMs: 200, now: Date.now }, (k) =>
      ran.push([k, Date.now()]),
    );
    const start = Date.now();
    d.touch('burst');
    d.touch('burst');
    vi.advanceTimersByTime(49);
    expect(ran).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ran).toEqual([['burst', start + 50]]);
    // A change every 30 ms never lets 50 ms pass quietly: the maximum delay fires it.
    const from = Date.now();
    for (let t = 0; t < 10; t++) {
      d.touch('stream');
      vi.advanceTimersByTime(30);
    }
    expect(ran.filter(([k]) => k === 'stream').map(([, at]) => at - from)).toEqual([200]);
    d.destroy();
  });

  it('takeAll hands over every marked key and cancels their runs', () => {
    vi.useFakeTimers();
    const ran: string[] = [];
    const d = new Debounce<string>({ debounceMs: 10, maxDelayMs: 100, now: Date.now }, (k) =>
      ran.push(k),
    );
    d.touch('a');
    d.touch('b');
    expect(d.takeAll().sort()).toEqual(['a', 'b']);
    vi.advanceTimersByTime(1000);
    expect(ran).toEqual([]);
    expect(d.size).toBe(0);
  });
});
