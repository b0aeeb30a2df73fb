/**
 * @module Debounce with a maximum delay: the one definition, used by the inbox and the
 * projector. Work on a key waits `debounceMs` after its latest change, but never more than
 * `maxDelayMs` after its oldest unhandled change, so a steady stream still gets handled.
 */

export interface DebounceTimes {
  debounceMs: number;
  maxDelayMs: number;
}

/** When work first marked at `since` and marked again `now` falls due. */
export function dueAt(since: number, now: number, times: DebounceTimes): number {
  return Math.min(now + times.debounceMs, since + times.maxDelayMs);
}

/**
 * Keyed debouncer with one timer for all keys: `touch(key)` marks a key; once due, `run(key)`
 * is called (the key is unmarked first, so a change during the run marks it again).
 */
export class Debounce<K> {
  private readonly marked = new Map<K, { since: number; due: number }>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly times: DebounceTimes & { now: () => number },
    private readonly run: (key: K) => void,
  ) {}

  get size(): number {
    return this.marked.size;
  }

  touch(key: K): void {
    const now = this.times.now();
    const since = this.marked.get(key)?.since ?? now;
    const due = dueAt(since, now, this.times);
    this.marked.set(key, { since, due });
    if (due < this.timerAt) this.arm(due);
  }

  /** Unmarks every key and returns them (the caller runs them now). */
  takeAll(): K[] {
    const keys = [...this.marked.keys()];
    this.marked.clear();
    this.disarm();
    return keys;
  }

  destroy(): void {
    this.marked.clear();
    this.disarm();
  }

  private arm(due: number): void {
    this.disarm();
    this.timerAt = due;
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - this.times.now()));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.times.now();
    let next = Number.POSITIVE_INFINITY;
    const due: K[] = [];
    for (const [key, entry] of this.marked) {
      if (entry.due <= now) due.push(key);
      else next = Math.min(next, entry.due);
    }
    for (const key of due) this.marked.delete(key);
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    for (const key of due) this.run(key);
  }
}
