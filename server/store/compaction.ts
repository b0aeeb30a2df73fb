/**
 * @module When a document's update log is merged (DocStore.compact). A compaction rewrites the
 * whole document, so compacting every fixed number of appends costs O(size) per few hundred
 * messages: O(n²) over a conversation's life (issue 13: one room's rate fell from ~700 to
 * 120–190 msg/s as it grew to 7k–18k messages). The policy is geometric, as a log-structured
 * store's: merge once the log written since the last merge is both `every` appends long and a
 * `ratio` of what that merge rewrote. Each byte is then rewritten a bounded number of times
 * (≤ 1 + 1/ratio on average, whatever the size) and the log a load replays stays within
 * `every` entries or `ratio` × the document's bytes.
 */

export class CompactionPolicy {
  private appends: number;
  private bytes: number;
  /** Bytes the last compaction rewrote (an upper bound: the log it merged). */
  private base: number;
  /** A compaction was asked for and not taken yet: don't ask again meanwhile. */
  private asked = false;
  /** Compactions taken and not settled. */
  private running = 0;

  /** `loadedUpdates`/`loadedBytes`: the log as loaded, not merged yet. */
  constructor(
    loadedUpdates: number,
    loadedBytes: number,
    private readonly every = 500,
    private readonly ratio = 0.5,
  ) {
    this.appends = loadedUpdates;
    this.bytes = loadedBytes;
    this.base = 0;
  }

  /** About how many bytes the stored log holds (an upper bound: deleted content included). */
  get storedBytes(): number {
    return this.base + this.bytes;
  }

  /** Records one append; true (once, until it is done) when the log is due for a compaction. */
  appended(bytes: number): boolean {
    this.appends += 1;
    this.bytes += bytes;
    if (
      this.asked ||
      this.running > 0 ||
      this.appends < this.every ||
      this.bytes < this.ratio * this.base
    )
      return false;
    this.asked = true;
    return true;
  }

  /**
   * A compaction took the log as it is now: what it merges becomes the base the next one is
   * measured against. None is asked for while it is still being merged and written (a second
   * would replay the same megabytes again), until `settled`.
   */
  taken(): void {
    this.base += this.bytes;
    this.appends = 1; // the merged update is one entry of the log
    this.bytes = 0;
    this.asked = false;
    this.running += 1;
  }

  /** A compaction taken has finished: written, or failed (the log is merely longer). */
  settled(): void {
    this.running -= 1;
  }
}
