/**
 * @module y-leveldb with errors that reach the caller. Node only: the one file in shared/ that
 * does I/O, kept here because the server's document store and the SDK's Node store both need it.
 *
 * y-leveldb 0.2.0 runs every operation through `_transact`, which catches any error, logs it
 * with console.warn and resolves to null: a failed write would look like a successful one. We
 * replace `_transact` with a serialising queue that rejects instead, so `append` only resolves
 * once LevelDB has taken the write (pinned version; see the README's dependency notes).
 */
import { getLevelUpdates, LeveldbPersistence } from 'y-leveldb';

export class StrictLeveldb {
  readonly persistence: LeveldbPersistence;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    persistence: LeveldbPersistence,
    private readonly level: { close(): Promise<void> },
  ) {
    this.persistence = persistence;
  }

  /** Opens (creating if needed) the LevelDB at `location`; throws if it cannot be opened. */
  static async open(location: string): Promise<StrictLeveldb> {
    const persistence = new LeveldbPersistence(location);
    // The level instance is private to y-leveldb's closure; its own _transact hands it out.
    const db = await persistence._transact(async (handle) => handle);
    const level = db as { open(): Promise<void>; close(): Promise<void>; status: string };
    await level.open(); // surfaces a lock or I/O error here instead of on first use
    const strict = new StrictLeveldb(persistence, level);
    persistence._transact = <T>(f: (db: unknown) => Promise<T>): Promise<T> =>
      strict.run(() => f(db));
    return strict;
  }

  private run<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('LevelDB store is closed'));
    const result = this.tail.then(f);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** All stored updates of `name`, oldest first. */
  updates(name: string): Promise<Uint8Array[]> {
    return this.persistence._transact((db) => getLevelUpdates(db, name));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Refuses new operations at once, lets the queued ones finish on the open database, then
   * closes it. (Closing first, as y-leveldb's destroy() does, let a queued write meet a closed
   * database: "Database is not open", an unhandled rejection in the caller's background save.)
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.level.close();
  }
}
