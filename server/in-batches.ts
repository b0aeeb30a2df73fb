/**
 * @module Bounded concurrency for work over many items (an inbox opening its conversations, a
 * resync of every open inbox): at most `limit` at a time, so a burst of thousands of items does
 * not queue thousands of reads on the database pool and hold all their results at once.
 */

/**
 * Runs `work` on every item, at most `limit` at a time, batch after batch in order. Never
 * rejects: an item's failure is its `work`'s to report, and the others still run.
 */
export async function inBatches<T>(
  items: Iterable<T>,
  limit: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  const list = [...items];
  for (let i = 0; i < list.length; i += limit)
    await Promise.allSettled(list.slice(i, i + limit).map((item) => work(item)));
}

/**
 * At most `limit` pieces of work running at once, across callers that do not know each other
 * (every conversation's inbox pass); the others wait, first come first served, except that
 * urgent work (a live change) goes before background work (a restart's catch-up). Not always:
 * a slot in every URGENT_IN_A_ROW + 1 goes to waiting background work, so a steady stream of
 * live changes slows a catch-up down but never stops it.
 */
export class Slots {
  private running = 0;
  private readonly urgent: Waiter[] = [];
  private readonly background: Waiter[] = [];
  /** Slots handed to urgent work in a row while background work waited. */
  private urgentInARow = 0;

  constructor(private readonly limit: number) {}

  /** Work running now and waiting for a slot (metrics, tests). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.urgent.length + this.background.length };
  }

  /** `tag` names the work, so that `promote` can find it while it waits. */
  async run<T>(work: () => Promise<T>, urgent = true, tag?: unknown): Promise<T> {
    if (this.running >= this.limit)
      await new Promise<void>((start) =>
        (urgent ? this.urgent : this.background).push({ start, tag }),
      );
    else this.running += 1;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter: `running` stays, nobody can jump the queue.
      const next = this.next();
      if (next) next.start();
      else this.running -= 1;
    }
  }

  private next(): Waiter | undefined {
    if (this.background.length === 0 || this.urgent.length === 0) {
      this.urgentInARow = 0;
      return this.urgent.shift() ?? this.background.shift();
    }
    if (this.urgentInARow >= URGENT_IN_A_ROW) {
      this.urgentInARow = 0;
      return this.background.shift();
    }
    this.urgentInARow += 1;
    return this.urgent.shift();
  }

  /**
   * Background work named `tag` that is still waiting becomes urgent (behind the urgent work
   * already waiting): a catch-up pass that a live change now also needs must not wait behind
   * the rest of the catch-up. False when no such work waits in the background.
   */
  promote(tag: unknown): boolean {
    const at = this.background.findIndex((w) => w.tag === tag);
    if (at < 0) return false;
    this.urgent.push(...this.background.splice(at, 1));
    return true;
  }
}

/** Urgent work handed a slot in a row before waiting background work gets one. */
export const URGENT_IN_A_ROW = 4;

interface Waiter {
  start: () => void;
  tag: unknown;
}
