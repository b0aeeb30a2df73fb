/**
 * @module The one definition of "unread", used by every place that counts: the server's log
 * summary (server/log-summary.ts, which keeps it countable in O(log n)) behind the inbox entry
 * (server/inbox/entry.ts) and the projector's unread columns (server/projector/derived.ts), the
 * REST statistics (which read the projected counts) and the snapshot checker
 * (server/projector/check.ts, which counts message by message, independently).
 *
 * A message is unread for a reader when all four hold:
 * 1. it is accepted (stamped) after the reader's read position (`seq > position`);
 * 2. someone else sent it (your own messages are never unread);
 * 3. it is not a system message (joins, role changes, dissolution: the log's own reports);
 * 4. it is not recalled (a recalled message has nothing left to read).
 *
 * Notices in a `system_` conversation are messages, not system messages: they count.
 */
import type { Message } from '../schema.js';

/** What the definition needs to know about one accepted message. */
export interface UnreadFacts {
  seq: number;
  sender: string;
  /** A system message the server wrote into the log (Message.system). */
  system: boolean;
  /** Recalled (Message.recalled on the tombstone, Stamp.recalledAt). */
  recalled: boolean;
}

/** Clauses 3 and 4: whether the message can be unread for anyone at all. */
export function canBeUnread(message: Pick<Message, 'system' | 'recalled'>): boolean {
  return message.system === undefined && message.recalled === undefined;
}

/** All four clauses. */
export function isUnread(facts: UnreadFacts, reader: string, position: number): boolean {
  return facts.seq > position && facts.sender !== reader && !facts.system && !facts.recalled;
}
