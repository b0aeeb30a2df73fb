/**
 * @module The columns that depend on other rows — every member's `unread_count` and
 * `last_read_message_id`, the conversation's `last_message_id`, `last_active_time` and the
 * private chat's two unread columns — computed from the document's live log summary
 * (server/log-summary.ts: shared/rules/unread.ts counted in O(log n)) while the projector holds
 * the document, instead of recomputed in SQL.
 *
 * Why: in SQL they were three UPDATEs with correlated subqueries over every member of every
 * changed conversation on every pass, and each unread count walked that member's whole backlog
 * in t_msg_body: about 45 % of the embedded database's time under a steady message stream, and
 * growing with every unread message. Here a pass costs O(members · log n) in memory, and only the
 * member rows whose values moved are written (`DerivedCache`). The snapshot checker
 * (./check.ts) still recomputes all of them the slow way, independently.
 */
import type * as Y from 'yjs';
import { readPositions } from '../../shared/rules/read.js';
import { conversationRoots } from '../../shared/schema.js';
import { liveSummary } from '../log-summary.js';
import type { ConversationRow } from './rows.js';

export interface ConversationDerived {
  last_message_id: string | null;
  last_active_time: number;
  first_identity_unread_count: number;
  second_identity_unread_count: number;
}

export interface MemberDerived {
  conversation_id: string;
  identity_id: string;
  unread_count: number;
  last_read_message_id: string | null;
}

/** The derived columns of `doc`'s conversation row and of every member's row. */
export function derivedRows(
  doc: Y.Doc,
  conversation: ConversationRow,
): { conversation: ConversationDerived; members: MemberDerived[] } {
  const log = liveSummary(doc);
  const { members, reads } = conversationRoots(doc);
  const positions = readPositions(reads.entries());
  const id = conversation.conversation_id;
  const rows: MemberDerived[] = [];
  const unreadOf = new Map<string, number>();
  for (const identity of members.keys()) {
    const position = positions.get(identity) ?? 0;
    const unread = log.unread(identity, position);
    unreadOf.set(identity, unread);
    rows.push({
      conversation_id: id,
      identity_id: identity,
      unread_count: unread,
      last_read_message_id: log.idAt(position) ?? null,
    });
  }
  const last = log.last;
  const { first_identity_id: first, second_identity_id: second } = conversation;
  return {
    conversation: {
      last_message_id: last ? (log.idAt(last.seq) ?? null) : null,
      last_active_time: last?.at ?? conversation.create_time,
      first_identity_unread_count: first ? (unreadOf.get(first) ?? 0) : 0,
      second_identity_unread_count: second ? (unreadOf.get(second) ?? 0) : 0,
    },
    members: rows,
  };
}

/** Documents whose written member values are remembered, at most (then the oldest go). */
const CACHED_DOCUMENTS = 20_000;

/**
 * What the projector last wrote of each member's derived columns, per document, so a pass
 * writes only the rows whose values moved (in a 500-member group a message moves every reader's
 * count, but a read moves one row). Updated only after the transaction committed; a document
 * not remembered (a restart, or evicted) simply has all its member rows written once.
 */
export class DerivedCache {
  private readonly written = new Map<string, Map<string, string>>();

  /** The rows of `members` that differ from what was written for `doc`. */
  changed(doc: string, members: readonly MemberDerived[]): MemberDerived[] {
    const known = this.written.get(doc);
    if (!known) return [...members];
    return members.filter((m) => known.get(m.identity_id) !== signature(m));
  }

  /** `rows` of `doc` are in the database now. */
  wrote(doc: string, rows: readonly MemberDerived[]): void {
    // Re-inserted below, so the most recently written document is the last one evicted.
    const known = this.written.get(doc) ?? new Map<string, string>();
    this.written.delete(doc);
    for (const row of rows) known.set(row.identity_id, signature(row));
    this.written.set(doc, known);
    if (this.written.size > CACHED_DOCUMENTS) {
      const oldest = this.written.keys().next().value;
      if (oldest !== undefined) this.written.delete(oldest);
    }
  }

  /** Forget `doc` (its rows may not hold what was remembered, e.g. after a failed write). */
  forget(doc: string): void {
    this.written.delete(doc);
  }
}

function signature(row: MemberDerived): string {
  return `${row.unread_count}|${row.last_read_message_id ?? ''}`;
}
