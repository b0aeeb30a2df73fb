/**
 * @module Read-only copies of documents another node owns, for the reads of REST, forward
 * sources and file access on a node that does not own the conversation (server-rooms.ts). A copy
 * is the fenced Postgres log (../store/fenced.ts) applied to a Y.Doc; before each read it is
 * caught up with the rows appended since the head it holds (one indexed SELECT), so a read sees
 * every update that was durable when it began. The owner acknowledges a write only once it is
 * durable, so a read on any node sees every write acknowledged before it (REST or socket), a REST
 * write on this very node included. Nothing here ever writes: the copy has no Room, no stamps,
 * no lease.
 *
 * Copies are kept while used and dropped after `idleMs` without a read (at most `max` of them),
 * so a conversation read often through a non-owner costs one small SELECT per read, not a load.
 */
import * as Y from 'yjs';
import { type DocName, parseDocKey } from '../../shared/keys.js';
import { conversationRoots, inboxRoots } from '../../shared/schema.js';
import type { FencedDocStore, LogPosition } from '../store/fenced.js';

interface Copy {
  readonly doc: Y.Doc;
  head: LogPosition;
  usedAt: number;
  /** The last catch-up of this copy: reads of one copy catch up one after another. */
  tail: Promise<unknown>;
}

export interface ReplicaOptions {
  store: FencedDocStore;
  /** A copy not read for this long is dropped (default 60 s). */
  idleMs?: number;
  /** Most copies kept (default 1,000); the least recently read goes first. */
  max?: number;
}

export class Replicas {
  private readonly copies = new Map<DocName, Copy>();
  private readonly store: FencedDocStore;
  private readonly idleMs: number;
  private readonly max: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: ReplicaOptions) {
    this.store = options.store;
    this.idleMs = options.idleMs ?? 60_000;
    this.max = options.max ?? 1000;
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, this.idleMs / 2));
    this.sweeper.unref();
  }

  /** Copies held (tests, health). */
  get size(): number {
    return this.copies.size;
  }

  /**
   * The copy of `key`, caught up with the log as it is now. The document only ever moves
   * forward (later reads catch the same object up), so a caller may keep it across awaits.
   */
  async current(key: DocName): Promise<Y.Doc> {
    let copy = this.copies.get(key);
    if (!copy) {
      copy = { doc: emptyDoc(key), head: 0, usedAt: Date.now(), tail: Promise.resolve() };
      this.copies.set(key, copy);
      this.trim();
    }
    copy.usedAt = Date.now();
    const it = copy;
    // Callbacks on one promise run in order: one SELECT at a time per copy, each from the head
    // the previous one reached.
    const caughtUp = it.tail.then(() => this.catchUp(key, it));
    it.tail = caughtUp.catch(() => undefined);
    await caughtUp;
    return it.doc;
  }

  /** Runs `f` on the copy of `key` caught up now. */
  async read<T>(key: DocName, f: (doc: Y.Doc) => T): Promise<T> {
    return f(await this.current(key));
  }

  close(): void {
    clearInterval(this.sweeper);
    this.copies.clear();
  }

  private async catchUp(key: DocName, copy: Copy): Promise<void> {
    const { updates, head } = await this.store.loadLog(key, copy.head);
    if (updates.length === 0) return;
    Y.transact(copy.doc, () => {
      for (const update of updates) Y.applyUpdate(copy.doc, update);
    });
    copy.head = head;
    if (copy.doc.store.pendingStructs || copy.doc.store.pendingDs) {
      // Cannot happen with a gapless log; if it does, the next read starts from scratch.
      this.copies.delete(key);
      throw new Error(`the copy of ${key} misses updates at head ${head}`);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, copy] of this.copies)
      if (now - copy.usedAt > this.idleMs) this.copies.delete(key);
  }

  private trim(): void {
    // The least recently read goes (a scan: this runs only when a new copy is made).
    while (this.copies.size > this.max) {
      let oldest: [DocName, Copy] | undefined;
      for (const entry of this.copies)
        if (!oldest || entry[1].usedAt < oldest[1].usedAt) oldest = entry;
      if (!oldest) return;
      this.copies.delete(oldest[0]);
    }
  }
}

/** An empty document with the roots a room defines before any update (as Room.load does). */
function emptyDoc(key: DocName): Y.Doc {
  const doc = new Y.Doc({ gc: true, guid: key });
  if (parseDocKey(key).type === 'inbox') inboxRoots(doc);
  else conversationRoots(doc);
  return doc;
}
