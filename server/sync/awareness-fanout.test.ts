import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwarenessFanout } from './awareness-fanout.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('AwarenessFanout', () => {
  it('sends a lone change at once and coalesces the rest of the interval into one frame', () => {
    const frames: number[][] = [];
    const fanout = new AwarenessFanout(200, (ids) => frames.push(ids));
    fanout.add([1]);
    expect(frames).toEqual([[1]]);
    fanout.add([2]);
    fanout.add([3, 2]);
    vi.advanceTimersByTime(100);
    fanout.add([1]);
    expect(frames).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(frames).toEqual([[1], [2, 3, 1]]);
    vi.advanceTimersByTime(1000);
    expect(frames).toHaveLength(2);
    fanout.add([4]); // a quiet interval has passed: at once again
    expect(frames.at(-1)).toEqual([4]);
  });

  it('caps frames at one per interval however many changes arrive', () => {
    let frames = 0;
    const fanout = new AwarenessFanout(200, () => {
      frames += 1;
    });
    for (let t = 0; t < 10_000; t += 10) {
      fanout.add([t % 20]);
      vi.advanceTimersByTime(10);
    }
    expect(frames).toBeLessThanOrEqual(51);
    expect(frames).toBeGreaterThanOrEqual(49);
  });

  it('with interval 0 sends every change, and sends nothing after destroy', () => {
    const frames: number[][] = [];
    const every = new AwarenessFanout(0, (ids) => frames.push(ids));
    every.add([1]);
    every.add([2]);
    expect(frames).toEqual([[1], [2]]);
    const fanout = new AwarenessFanout(200, (ids) => frames.push(ids));
    fanout.add([5]);
    fanout.add([6]);
    fanout.destroy();
    vi.advanceTimersByTime(1000);
    expect(frames).toEqual([[1], [2], [5]]);
  });
});
