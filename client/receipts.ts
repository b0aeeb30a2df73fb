/**
 * @module Delivery and read status of a message, computed from the document: every device writes
 * how far it has received (`delivered`, private chats) and read (`reads`), so the sender sees
 * sent -> delivered -> read for a private chat, and for a group which members have read it,
 * capped like large-group products do (a count past the cap).
 */
import type * as Y from 'yjs';
import type { MessageView } from '../shared/conversation.js';
import { ConversationType, MemberStatus } from '../shared/enums.js';
import type { IdentityId } from '../shared/ids.js';
import { readPosition } from '../shared/rules/read.js';
import { conversationRoots } from '../shared/schema.js';

export type ReceiptStatus = 'pending' | 'sent' | 'delivered' | 'read';

/** Listed readers of one group message; past `cap` only the count grows. */
export interface ReadBy {
  identities: IdentityId[];
  count: number;
  /** Active members other than the sender: how many could read it. */
  of: number;
}

export const DEFAULT_READ_BY_CAP = 50;

/** A private chat message's status as its sender sees it. */
export function receiptStatus(doc: Y.Doc, message: MessageView): ReceiptStatus {
  if (!message.stamp) return 'pending';
  const { meta, members, reads, delivered } = conversationRoots(doc);
  const seq = message.stamp.seq;
  const others = [...members.keys()].filter((id) => id !== message.sender);
  if (others.length === 0) return 'sent';
  const everyone = (positions: Y.Map<number>) =>
    others.every((id) => readPosition(positions.entries(), id) >= seq);
  if (everyone(reads)) return 'read';
  // Groups have no delivery receipts (one write per member per message would not scale).
  if (meta.get('type') === ConversationType.Private && everyone(delivered)) return 'delivered';
  return 'sent';
}

/** Which members (not the sender) have read a message, at most `cap` of them listed. */
export function readBy(doc: Y.Doc, message: MessageView, cap = DEFAULT_READ_BY_CAP): ReadBy {
  const result: ReadBy = { identities: [], count: 0, of: 0 };
  if (!message.stamp) return result;
  const { members, reads } = conversationRoots(doc);
  const positions = new Map<string, number>();
  for (const [key, seq] of reads.entries()) {
    const identity = key.slice(0, key.lastIndexOf(':'));
    positions.set(identity, Math.max(seq, positions.get(identity) ?? 0));
  }
  for (const [id, member] of members.entries()) {
    if (id === message.sender || member.status !== MemberStatus.Active) continue;
    result.of += 1;
    if ((positions.get(id) ?? 0) < message.stamp.seq) continue;
    result.count += 1;
    if (result.identities.length < cap) result.identities.push(id as IdentityId);
  }
  return result;
}
