/**
 * @module Domain events for backend consumers (seed §4 "领域事件"), written to `t_domain_event`
 * in the projector's transaction. They come from what was accepted, not from differences of
 * state, so they say who did what:
 * - membership and dissolution from the group's system messages, which the room writes in the
 *   same server transaction as the accepted change and which carry its actor (`joined` by an
 *   inviter, `exited` on one's own, `removed` by an operator, `dissolved` by the owner): a
 *   removal followed by a re-invite is two messages, so two events, however quickly; conversations
 *   without system messages (private, system, customer service) are created by the server with
 *   their members, and an admin joins customer service by answering;
 * - messages and recalls from the stamps (who sent, who recalled, the server's times);
 * - reads from read positions: the message read and, when this process saw the read accepted,
 *   its acceptance time (`Projector.accepted`), else the time the projection found it.
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
import { ConversationType } from '../../shared/enums.js';
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

/** When a read position was accepted (ms), if this process saw it: see Projector.accepted. */
export type ReadTimes = (identity: string, seq: number) => number | undefined;

/** The events a projection of `changes` stands for, in a stable order. */
export function eventsFor(
  doc: Y.Doc,
  conversation: ConversationRow,
  changes: Changes,
  created: boolean,
  readTimes: ReadTimes = () => undefined,
  now: () => number = Date.now,
): DomainEvent[] {
  const { members, messages, stamps, reads } = conversationRoots(doc);
  const id = conversation.conversation_id;
  const group = conversation.conversation_type === ConversationType.Group;
  const events: DomainEvent[] = [];
  const joined = (identity: string, inviter: string | null, at: number, key: string) => {
    const member = members.get(identity) as Member | undefined;
    events.push({
      key,
      type: EventType.MemberJoined,
      payload: {
        conversationId: id,
        memberId: identity,
        inviterId: inviter,
        identityType: member?.identityType ?? null,
      },
      occurredAt: at,
    });
  };
  if (created && changes.all && !group) {
    // The server creates these with their members, in one transaction.
    const memberIds = [...members.keys()].sort();
    events.push(createdEvent(id, conversation, memberIds));
    for (const identity of memberIds) {
      const member = members.get(identity) as Member;
      joined(
        identity,
        member.invitedBy ?? null,
        member.joinTime,
        `MemberJoined:${id}:${identity}:${member.joinTime}`,
      );
    }
  } else if (!group) {
    // Customer service: an admin joins by answering (the server writes the member).
    for (const identity of changes.members) {
      const member = members.get(identity) as Member | undefined;
      if (!member) continue;
      joined(
        identity,
        member.invitedBy ?? null,
        member.joinTime,
        `MemberJoined:${id}:${identity}:${member.joinTime}`,
      );
    }
  }
  const keys = (changes.all ? [...messages.keys()] : [...changes.messages])
    .map((key) => ({ key, stamp: stamps.get(key) as Stamp | undefined }))
    .filter((m): m is { key: string; stamp: Stamp } => m.stamp !== undefined)
    .sort((a, b) => a.stamp.seq - b.stamp.seq);
  for (const { key, stamp } of keys) {
    const message = messages.get(key) as Message | undefined;
    if (!message) continue; // expired (messageRetentionDays)
    const note = message.system;
    if (note) {
      // A system message: the accepted change it reports, with its actor and its server time.
      const at = stamp.at;
      switch (note.event) {
        case 'created': {
          const memberIds = note.members ?? [...members.keys()].sort();
          events.push({ ...createdEvent(id, conversation, memberIds), occurredAt: at });
          for (const identity of memberIds)
            joined(
              identity,
              identity === note.actor ? null : note.actor,
              at,
              `MemberJoined:${stamp.id}:${identity}`,
            );
          break;
        }
        case 'joined':
          joined(note.target, note.actor, at, `MemberJoined:${stamp.id}`);
          break;
        case 'exited':
        case 'removed': {
          const memberId = note.event === 'exited' ? note.actor : note.target;
          events.push({
            key: `MemberExited:${stamp.id}`,
            type: EventType.MemberExited,
            payload: {
              conversationId: id,
              memberId,
              exitType: note.event === 'exited' ? 'voluntary' : 'removed',
              operatorId: note.actor,
            },
            occurredAt: at,
          });
          break;
        }
        case 'dissolved':
          events.push({
            key: `ConversationDissolved:${id}`,
            type: EventType.ConversationDissolved,
            payload: { conversationId: id, operatorId: note.actor },
            occurredAt: at,
          });
          break;
        default:
          break; // roles, mutes, info: no domain event in the spec
      }
      continue;
    }
    events.push({
      key: `IMMessageSent:${stamp.id}`,
      type: EventType.IMMessageSent,
      payload: {
        messageId: stamp.id,
        conversationId: id,
        senderId: message.sender,
        messageFormat: message.format,
        senderType: message.senderType,
        seq: stamp.seq,
      },
      occurredAt: stamp.at,
    });
    if (stamp.recalledAt !== undefined) {
      events.push({
        key: `MessageRecalled:${stamp.id}`,
        type: EventType.MessageRecalled,
        payload: {
          messageId: stamp.id,
          operatorId: message.recalled?.by ?? null,
          recallTime: stamp.recalledAt,
          conversationId: id,
          seq: stamp.seq,
        },
        occurredAt: stamp.recalledAt,
      });
    }
  }
  const readers = changes.all
    ? new Set([...reads.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))
    : changes.readers;
  const idOfSeq = readers.size > 0 ? seqIds(doc) : new Map<number, string>();
  for (const identity of [...readers].sort()) {
    const seq = readPosition(reads.entries(), identity);
    const messageId = idOfSeq.get(seq);
    if (seq === 0 || messageId === undefined) continue;
    const readTime = readTimes(identity, seq) ?? now();
    events.push({
      key: `MessageRead:${id}:${identity}:${seq}`,
      type: EventType.MessageRead,
      payload: { messageId, readerId: identity, readTime, conversationId: id, seq },
      occurredAt: readTime,
    });
  }
  return events;
}

function createdEvent(id: string, conversation: ConversationRow, memberIds: string[]): DomainEvent {
  return {
    key: `ConversationCreated:${id}`,
    type: EventType.ConversationCreated,
    payload: {
      conversationId: id,
      conversationType: conversation.conversation_type,
      memberIds,
      createdBy: conversation.created_by,
    },
    occurredAt: conversation.create_time,
  };
}

function seqIds(doc: Y.Doc): Map<number, string> {
  const out = new Map<number, string>();
  for (const stamp of conversationRoots(doc).stamps.values()) out.set(stamp.seq, stamp.id);
  return out;
}
