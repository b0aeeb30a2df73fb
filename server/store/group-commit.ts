/**
 * @module Group commit: every write asked for within one event-loop turn, from any room, goes to
 * LevelDB as one batch. A write's promise resolves only once its batch is on disk, so callers
 * keep "persist, then acknowledge and broadcast". At most one batch is in flight; what arrives
 * meanwhile waits for it and forms the next batch. A failed batch rejects every write in it.
 */

export type WriteOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array };

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export interface BatchStats {
  /** Write requests (appends, compactions, meta writes) in the batch. */
  writes: number;
  ops: number;
  seconds: number;
}

export class GroupCommit {
  private ops: WriteOp[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly commit: (ops: WriteOp[]) => Promise<void>,
    private readonly onBatch: (stats: BatchStats) => void = () => {},
  ) {}

  /** Queues `ops` to be written atomically with the rest of this turn's batch. */
  write(ops: WriteOp[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      for (const op of ops) this.ops.push(op);
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything queued so far is written (or failed). */
  async settled(): Promise<void> {
    while (this.inFlight || this.waiters.length > 0) {
      if (this.inFlight) await this.inFlight;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    // setImmediate runs after the poll phase: every socket read in this turn has been handled.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const ops = this.ops;
    const waiters = this.waiters;
    this.ops = [];
    this.waiters = [];
    if (waiters.length === 0) return;
    const start = process.hrtime.bigint();
    this.inFlight = this.commit(ops).then(
      () => {
        this.inFlight = undefined;
        this.onBatch({
          writes: waiters.length,
          ops: ops.length,
          seconds: Number(process.hrtime.bigint() - start) / 1e9,
        });
        for (const w of waiters) w.resolve();
        if (this.waiters.length > 0) this.schedule();
      },
      (error: unknown) => {
        this.inFlight = undefined;
        for (const w of waiters) w.reject(error);
        if (this.waiters.length > 0) this.schedule();
      },
    );
  }
}
