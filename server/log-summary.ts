/**
 * @module What the server keeps of a loaded conversation's log beside the document, so that the
 * questions every reader of it asks cost O(log n) however long the log is: how many messages
 * are unread for a reader at a read position (shared/rules/unread.ts, exactly), which message
 * id sits at a seq, and which message is the last. One piece serves the inbox's entries
 * (server/inbox/entry.ts), REST's conversation view and the projector's derived columns
 * (unread_count, last_read_message_id, last_message_id; server/projector/derived.ts).
 *
 * Built by one scan of the document the first time it is asked for, then kept up to date by
 * observing `stamps` and `messages` (O(log n) per changed message), so a projection pass or an
 * inbox pass over a 100k-message conversation never rescans its log, and an unread count does
 * not walk every unread message (before, the projector's SQL counted them for every member on
 * every pass, a cost that grew with each member's backlog).
 */
import type * as Y from 'yjs';
import type { MessageId } from '../shared/ids.js';
import { canBeUnread } from '../shared/rules/unread.js';
import { conversationRoots, type Message } from '../shared/schema.js';

/** The last message still in the log (recalled ones included, expired ones not). */
export interface LastMessage {
  message: Message;
  /** Server acceptance time (Stamp.at). */
  at: number;
  seq: number;
}

export interface LogSummary {
  /**
   * Messages unread for `reader` at read position `position` (shared/rules/unread.ts): accepted
   * after it, sent by someone else, neither system messages nor recalled.
   */
  unread(reader: string, position: number): number;
  /** t_msg_body.message_id of the message at `seq`, if it is still in the log. */
  idAt(seq: number): MessageId | undefined;
  readonly last: LastMessage | undefined;
}

const live = new WeakMap<Y.Doc, LogIndex>();

/** The summary of a loaded document, kept up to date from now on (one scan the first time). */
export function liveSummary(doc: Y.Doc): LogSummary {
  const known = live.get(doc);
  if (known) return known;
  const index = new LogIndex(doc);
  live.set(doc, index);
  const { messages, stamps } = conversationRoots(doc);
  // A new message arrives as its stamp (the server's, after the client's message); a recall
  // rewrites both; an expiry (messageRetentionDays) deletes the message and keeps the stamp.
  // One pass per transaction over the keys either map changed: a new message changes both in
  // one step, and two observers refreshed it twice.
  doc.on('afterTransaction', (transaction: Y.Transaction) => {
    let stamped: Set<string | null> | undefined;
    let written: Set<string | null> | undefined;
    for (const [type, keys] of transaction.changed) {
      const changed: unknown = type; // Y's typing of `changed` does not relate to YMap<T>
      if (changed === stamps) stamped = keys;
      else if (changed === messages) written = keys;
    }
    if (stamped) for (const key of stamped) if (key !== null) index.refresh(key);
    if (written)
      for (const key of written) if (key !== null && !stamped?.has(key)) index.refresh(key);
  });
  return index;
}

/** A summary of the document as it is now, not kept up to date (one scan). */
export function summarize(doc: Y.Doc): LogSummary {
  return new LogIndex(doc);
}

class LogIndex implements LogSummary {
  private readonly roots: ReturnType<typeof conversationRoots>;
  /** seq → client key of the message there, while it is in the log. */
  private readonly keys: Array<string | undefined> = [];
  /** seq → its message id, while it is in the log. */
  private readonly ids: Array<MessageId | undefined> = [];
  /** seq → sender of a message that can be unread (canBeUnread), else undefined. */
  private readonly senders: Array<string | undefined> = [];
  /** Which seqs can be unread, for "how many after seq s" in O(log n). */
  private readonly countable = new Fenwick();
  /** Per sender, the seqs of its messages that can be unread, ascending ("your own"). */
  private readonly own = new Map<string, number[]>();
  /** Highest seq in the log (0: none). */
  private top = 0;

  constructor(doc: Y.Doc) {
    this.roots = conversationRoots(doc);
    // One scan, then each structure built whole (a sort per sender, a linear Fenwick build):
    // the map's order is not seq order, and inserting one by one would splice.
    const { messages, stamps } = this.roots;
    const countable: number[] = [];
    for (const [key, stamp] of stamps.entries()) {
      const message = messages.get(key);
      if (!message) continue;
      const { seq } = stamp;
      this.keys[seq] = key;
      this.ids[seq] = stamp.id;
      if (seq > this.top) this.top = seq;
      if (!canBeUnread(message)) continue;
      this.senders[seq] = message.sender;
      countable.push(seq);
      const seqs = this.own.get(message.sender);
      if (seqs) seqs.push(seq);
      else this.own.set(message.sender, [seq]);
    }
    for (const seqs of this.own.values()) seqs.sort((a, b) => a - b);
    this.countable.build(countable, this.top);
  }

  unread(reader: string, position: number): number {
    const after = this.countable.total() - this.countable.upTo(position);
    if (after === 0) return 0;
    const mine = this.own.get(reader);
    return mine ? after - (mine.length - upperBound(mine, position)) : after;
  }

  idAt(seq: number): MessageId | undefined {
    return this.ids[seq];
  }

  get last(): LastMessage | undefined {
    const key = this.keys[this.top];
    if (key === undefined) return undefined;
    const message = this.roots.messages.get(key);
    const stamp = this.roots.stamps.get(key);
    if (!message || !stamp) return undefined; // refresh keeps keys[] in step; never reached
    return { message, at: stamp.at, seq: stamp.seq };
  }

  /** Brings what is kept of message `key` in line with the document. */
  refresh(key: string): void {
    const stamp = this.roots.stamps.get(key);
    if (!stamp) return; // not accepted (yet): not in the log
    const { seq } = stamp;
    const message = this.roots.messages.get(key);
    this.keys[seq] = message ? key : undefined;
    this.ids[seq] = message ? stamp.id : undefined;
    if (message && seq > this.top) this.top = seq;
    if (!message && seq === this.top) {
      // The last message expired: the new last is the highest seq still held.
      while (this.top > 0 && this.keys[this.top] === undefined) this.top -= 1;
    }
    const sender = message && canBeUnread(message) ? (message.sender as string) : undefined;
    const before = this.senders[seq];
    if (sender === before) return;
    if (before !== undefined) {
      this.countable.add(seq, -1);
      const seqs = this.own.get(before)!;
      seqs.splice(upperBound(seqs, seq) - 1, 1);
    }
    if (sender !== undefined) {
      this.countable.add(seq, 1);
      let seqs = this.own.get(sender);
      if (!seqs) {
        seqs = [];
        this.own.set(sender, seqs);
      }
      // Seqs arrive in order but for a load's scan order and recalls: insert where it belongs.
      if (seqs.length === 0 || seqs[seqs.length - 1]! < seq) seqs.push(seq);
      else seqs.splice(upperBound(seqs, seq), 0, seq);
    }
    this.senders[seq] = sender;
  }
}

/** Index of the first element of ascending `a` greater than `x`. */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A Fenwick (binary indexed) tree of 0/1 values by seq that grows as seqs do: prefix sums and
 * point updates in O(log n); growing rebuilds it from the values in O(n), doubling, so O(1)
 * amortised per seq.
 */
export class Fenwick {
  private tree = new Int32Array(1);
  private values = new Int8Array(1);
  private sum = 0;

  add(index: number, delta: number): void {
    if (index >= this.tree.length) this.grow(index);
    this.values[index]! += delta;
    this.sum += delta;
    for (let i = index; i < this.tree.length; i += i & -i) this.tree[i]! += delta;
  }

  /** Sum of the values at 1..index. */
  upTo(index: number): number {
    let s = 0;
    for (let i = Math.min(index, this.tree.length - 1); i > 0; i -= i & -i) s += this.tree[i]!;
    return s;
  }

  total(): number {
    return this.sum;
  }

  /** Replaces the contents with a 1 at each of `indexes` (distinct, each ≤ `max`), in O(n). */
  build(indexes: readonly number[], max: number): void {
    let size = 1;
    while (size <= max) size *= 2;
    this.values = new Int8Array(size);
    for (const i of indexes) this.values[i] = 1;
    this.sum = indexes.length;
    this.tree = linearBuild(this.values);
  }

  private grow(index: number): void {
    let size = this.tree.length;
    while (size <= index) size *= 2;
    const values = new Int8Array(size);
    values.set(this.values);
    this.values = values;
    this.tree = linearBuild(values);
  }
}

/** A Fenwick tree of `values` in O(n): each node adds itself to its parent once. */
function linearBuild(values: Int8Array): Int32Array<ArrayBuffer> {
  const size = values.length;
  const tree = new Int32Array(size);
  for (let i = 1; i < size; i += 1) {
    tree[i]! += values[i]!;
    const parent = i + (i & -i);
    if (parent < size) tree[parent]! += tree[i]!;
  }
  return tree;
}
