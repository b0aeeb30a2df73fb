/**
 * @module Domain events for backend consumers (SPEC.md "Domain events"), derived from what a
 * projection changed and written to `t_domain_event` in the projector's transaction.
 *
 * Every event has a deterministic key (`IMMessageSent:{messageId}`, ...) with a unique index, so
 * re-projecting after a crash or an outage never writes one twice: at-least-once delivery to
 * the table becomes exactly-once per key. `event_id` grows with each insert, and projections run
 * one at a time, so within a conversation events are in id order.
 *
 * Consuming: keep a row in `t_event_consumer`, read
 *   SELECT * FROM t_domain_event WHERE event_id > $last ORDER BY event_id LIMIT 100
 * handle them, then `UPDATE t_event_consumer SET last_event_id = $max` (see the README).
 */
import type * as Y from 'yjs';
import { ConversationStatus, MemberStatus } from '../../shared/enums.js';
import { readPosition } from '../../shared/rules/read.js';
import { conversationRoots, type Member, type Message, type Stamp } from '../../shared/schema.js';
import type { ConversationRow } from './rows.js';

export const EventType = {
  ConversationCreated: 'ConversationCreated',
  ConversationDissolved: 'ConversationDissolved',
  MemberJoined: 'MemberJoined',
  MemberExited: 'MemberExited',
  IMMessageSent: 'IMMessageSent',
  MessageRecalled: 'MessageRecalled',
  MessageRead: 'MessageRead',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface DomainEvent {
  key: string;
  type: EventType;
  payload: Record<string, unknown>;
  occurredAt: number;
}

export interface Changes {
  /** Everything is new (first projection of this document). */
  all: boolean;
  members: Set<string>;
  messages: Set<string>;
  readers: Set<string>;
  meta: boolean;
}

/** The events a projection of `changes` stands for, in a stable order. */
export function eventsFor(
  doc: Y.Doc,
  conversation: ConversationRow,
  changes: Changes,
  created: boolean,
): DomainEvent[] {
  const { members, messages, stamps, reads, clients } = conversationRoots(doc);
  const id = conversation.conversation_id;
  const events: DomainEvent[] = [];
  if (created) {
    events.push({
      key: `ConversationCreated:${id}`,
      type: EventType.ConversationCreated,
      payload: {
        type: conversation.conversation_type,
        createdBy: conversation.created_by,
        members: [...members.keys()],
      },
      occurredAt: conversation.create_time,
    });
  }
  const memberIds = changes.all ? [...members.keys()] : [...changes.members];
  for (const identity of memberIds.sort()) {
    const member = members.get(identity) as Member | undefined;
    if (!member) continue;
    events.push({
      key: `MemberJoined:${id}:${identity}:${member.joinTime}`,
      type: EventType.MemberJoined,
      payload: {
        identity,
        identityType: member.identityType,
        role: member.role,
        inviter: member.invitedBy ?? null,
      },
      occurredAt: member.joinTime,
    });
    if (member.status === MemberStatus.Exited) {
      // Who wrote the exit: the author bound to the clientID of the entry's current item.
      const item = (members as unknown as { _map: Map<string, Y.Item> })._map.get(identity);
      const by = item ? (clients.get(String(item.id.client)) ?? null) : null;
      events.push({
        key: `MemberExited:${id}:${identity}:${member.exitTime}`,
        type: EventType.MemberExited,
        payload: { identity, voluntary: by === identity, by },
        occurredAt: member.exitTime ?? 0,
      });
    }
  }
  const keys = (changes.all ? [...messages.keys()] : [...changes.messages])
    .map((key) => ({ key, stamp: stamps.get(key) as Stamp | undefined }))
    .filter((m): m is { key: string; stamp: Stamp } => m.stamp !== undefined)
    .sort((a, b) => a.stamp.seq - b.stamp.seq);
  for (const { key, stamp } of keys) {
    const message = messages.get(key) as Message;
    // System messages report changes that have their own events (MemberJoined, ...).
    if (message.system) continue;
    events.push({
      key: `IMMessageSent:${stamp.id}`,
      type: EventType.IMMessageSent,
      payload: {
        messageId: stamp.id,
        seq: stamp.seq,
        sender: message.sender,
        senderType: message.senderType,
        format: message.format,
      },
      occurredAt: stamp.at,
    });
    if (stamp.recalledAt !== undefined) {
      events.push({
        key: `MessageRecalled:${stamp.id}`,
        type: EventType.MessageRecalled,
        payload: { messageId: stamp.id, seq: stamp.seq, by: message.recalled?.by ?? null },
        occurredAt: stamp.recalledAt,
      });
    }
  }
  const readers = changes.all
    ? new Set([...reads.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))
    : changes.readers;
  for (const identity of [...readers].sort()) {
    const seq = readPosition(reads.entries(), identity);
    if (seq === 0) continue;
    events.push({
      key: `MessageRead:${id}:${identity}:${seq}`,
      type: EventType.MessageRead,
      payload: { identity, seq },
      occurredAt: Date.now(),
    });
  }
  if (conversation.status === ConversationStatus.Dissolved) {
    events.push({
      key: `ConversationDissolved:${id}`,
      type: EventType.ConversationDissolved,
      payload: {},
      occurredAt: Date.now(),
    });
  }
  return events;
}
