/**
 * @module Group commit: every write asked for within one event-loop turn, from any room, goes to
 * the store as one batch (one LevelDB batch, or one Postgres statement and commit). A write's
 * promise resolves only once its batch is durable, so callers keep "persist, then acknowledge
 * and broadcast". At most `maxInFlight` batches are in flight (LevelDB: one); what arrives
 * meanwhile waits and forms the next batch, so the batch grows with the load instead of the
 * number of commits. Batches in flight together may commit in any order: a caller that needs
 * its writes in order (a room's appends) waits for each before the next.
 *
 * A failed batch rejects every write in it. A batch may also refuse some writes alone (the
 * fenced log: a position another writer took) and accept the rest.
 */

/** One LevelDB operation (the LevelDB store's writes are arrays of them). */
export type WriteOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array };

/** A write waiting for its batch, with the caller's promise. */
interface Queued<W> {
  write: W;
  resolve(): void;
  reject(error: unknown): void;
}

export interface BatchStats {
  /** Write requests (appends, compactions, meta writes) in the batch. */
  writes: number;
  seconds: number;
}

/**
 * Writes a batch: resolves once it is durable, with nothing (every write accepted) or one entry
 * per write, an error for each write refused alone. Throws when the batch as a whole failed.
 */
export type CommitBatch<W> = (writes: W[]) => Promise<readonly (Error | undefined)[] | undefined>;

export class GroupCommit<W> {
  private queued: Queued<W>[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly commit: CommitBatch<W>,
    private readonly onBatch: (stats: BatchStats) => void = () => {},
    private readonly maxInFlight = 1,
  ) {}

  /** Queues `write`, to be written with the rest of this turn's batch. */
  write(write: W): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ write, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything queued so far is written (or failed). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.queued.length > 0) {
      if (this.inFlight.size > 0) await Promise.all(this.inFlight);
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight.size >= this.maxInFlight) return;
    this.scheduled = true;
    // setImmediate runs after the poll phase: every socket read in this turn has been handled.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    const start = process.hrtime.bigint();
    let committed: ReturnType<CommitBatch<W>>;
    try {
      committed = this.commit(batch.map((q) => q.write));
    } catch (error) {
      committed = Promise.reject(error); // a commit that throws fails its batch like one that rejects
    }
    const flight: Promise<void> = committed.then(
      (refused) => {
        this.inFlight.delete(flight);
        batch.forEach((q, i) => {
          const error = refused?.[i];
          if (error) q.reject(error);
          else q.resolve();
        });
        if (this.queued.length > 0) this.schedule();
        // Last, and guarded: a failing metrics callback must not leave a write unsettled.
        try {
          this.onBatch({
            writes: batch.length,
            seconds: Number(process.hrtime.bigint() - start) / 1e9,
          });
        } catch {}
      },
      (error: unknown) => {
        this.inFlight.delete(flight);
        for (const q of batch) q.reject(error);
        if (this.queued.length > 0) this.schedule();
      },
    );
    this.inFlight.add(flight);
  }
}
