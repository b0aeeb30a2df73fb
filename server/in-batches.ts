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
