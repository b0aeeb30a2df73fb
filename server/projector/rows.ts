/**
 * @module The rows a conversation document stands for, built from the document alone: one
 * function per table, shared by the projector (what to write) and the checker (what to expect).
 * Values that need other rows (unread counts, last message, last read message id) come from the
 * log summary (./derived.ts) in the projector and are recomputed independently by the checker.
 */
import type * as Y from 'yjs';
import { ConversationType, MemberStatus, RelatingBizType } from '../../shared/enums.js';
import type { ConversationKey } from '../../shared/keys.js';
import { readPosition } from '../../shared/rules/read.js';
import {
  type ConversationMeta,
  conversationRoots,
  type Member,
  type Message,
  type Stamp,
} from '../../shared/schema.js';

export interface ConversationRow {
  conversation_id: string;
  conversation_key: string;
  conversation_type: string;
  conversation_name: string | null;
  conversation_avatar: string | null;
  status: number;
  setting: Record<string, unknown>;
  current_member_count: number;
  max_member_count: number;
  first_identity_id: string | null;
  first_identity_type: number | null;
  second_identity_id: string | null;
  second_identity_type: number | null;
  source: number;
  create_time: number;
  created_by: string | null;
}

export interface MemberRow {
  conversation_id: string;
  identity_id: string;
  identity_type: number;
  nickname: string | null;
  avatar: string | null;
  member_role: number;
  member_status: number;
  join_time: number;
  exit_time: number | null;
  last_read_seq: number;
  mute_notification: boolean;
  invited_by: string | null;
}

export interface MessageRow {
  message_id: string;
  title: string | null;
  content: string | null;
  relating_biz_type: number;
  relating_biz_id: string;
  relating_parent_msg_id: string | null;
  create_time: number;
  update_time: number;
  message_type: number;
  conversation_id: string;
  message_format: number;
  reply_to_message_id: string | null;
  file_url: string | null;
  file_size: number | null;
  duration: number | null;
  is_recalled: boolean;
  recall_time: number | null;
  sender_identity_id: string;
  sender_identity_type: number;
  conversation_seq: number;
  client_message_key: string;
}

/**
 * t_msg_body.message_type: a member's message, or a notice (pushed by a backend job, or a system
 * message the server wrote into a group's log).
 */
export const MessageType = { User: 1, Notice: 2 } as const;

export function conversationRow(doc: Y.Doc): ConversationRow | undefined {
  const { meta, settings, members } = conversationRoots(doc);
  const m = meta.toJSON() as Partial<ConversationMeta>;
  if (!m.conversationId || !m.key || !m.type || m.createdAt === undefined) return undefined;
  let active = 0;
  for (const member of members.values()) if (member.status === MemberStatus.Active) active += 1;
  const row: ConversationRow = {
    conversation_id: m.conversationId,
    conversation_key: m.key,
    conversation_type: m.type,
    conversation_name: m.name ?? null,
    conversation_avatar: m.avatar ?? null,
    status: m.status ?? 1,
    setting: settings.toJSON(),
    current_member_count: active,
    max_member_count: m.maxMemberCount ?? 500,
    first_identity_id: null,
    first_identity_type: null,
    second_identity_id: null,
    second_identity_type: null,
    source: 0,
    create_time: m.createdAt,
    created_by: m.createdBy ?? null,
  };
  if (m.type === ConversationType.Private) {
    // first/second in key order: private_{first}_{second}.
    const [first, second] = [...members.keys()].sort();
    row.first_identity_id = first ?? null;
    row.first_identity_type = first ? (members.get(first)?.identityType ?? null) : null;
    row.second_identity_id = second ?? null;
    row.second_identity_type = second ? (members.get(second)?.identityType ?? null) : null;
  }
  return row;
}

export function memberRow(
  doc: Y.Doc,
  conversationId: string,
  identity: string,
): MemberRow | undefined {
  const { members, profiles, reads } = conversationRoots(doc);
  const member = members.get(identity) as Member | undefined;
  if (!member) return undefined;
  const profile = profiles.get(identity);
  return {
    conversation_id: conversationId,
    identity_id: identity,
    identity_type: member.identityType,
    nickname: profile?.nickname ?? null,
    avatar: profile?.avatar ?? null,
    member_role: member.role,
    member_status: member.status,
    join_time: member.joinTime,
    exit_time: member.exitTime ?? null,
    last_read_seq: readPosition(reads.entries(), identity),
    mute_notification: profile?.muteNotification ?? false,
    invited_by: member.invitedBy ?? null,
  };
}

export function messageRow(
  doc: Y.Doc,
  conversationId: string,
  key: string,
): MessageRow | undefined {
  const { messages, stamps, meta } = conversationRoots(doc);
  const message = messages.get(key) as Message | undefined;
  const stamp = stamps.get(key) as Stamp | undefined;
  if (!message || !stamp) return undefined; // not accepted yet
  const type = meta.get('type') as ConversationKey | string | undefined;
  const recalled = message.recalled !== undefined;
  const imBizType =
    type === ConversationType.Group
      ? RelatingBizType.ImGroupChat
      : type === ConversationType.System
        ? RelatingBizType.ImSystemNotification
        : RelatingBizType.ImPrivateChat;
  return {
    message_id: stamp.id,
    title: message.card?.title ?? null,
    content: recalled ? null : message.content,
    relating_biz_type: message.card ? message.card.bizType : imBizType,
    relating_biz_id: message.card ? message.card.bizId : conversationId,
    relating_parent_msg_id: null,
    create_time: stamp.at,
    update_time: stamp.recalledAt ?? stamp.at,
    message_type:
      type === ConversationType.System || message.system ? MessageType.Notice : MessageType.User,
    conversation_id: conversationId,
    message_format: message.format,
    reply_to_message_id: message.replyTo ? (stamps.get(message.replyTo)?.id ?? null) : null,
    file_url: recalled ? null : (message.file?.url ?? null),
    file_size: recalled ? null : (message.file?.size ?? null),
    duration: message.duration ?? null,
    is_recalled: recalled,
    recall_time: stamp.recalledAt ?? null,
    sender_identity_id: message.sender,
    sender_identity_type: message.senderType,
    conversation_seq: stamp.seq,
    client_message_key: key,
  };
}
