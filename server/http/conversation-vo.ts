/**
 * @module ConversationResponseVO: what REST answers for one conversation (detail, creation),
 * with the Conversation aggregate's field names (seed §4). The name and avatar are what the
 * caller's inbox shows (server/inbox/entry.ts): the group's own, or in a private chat the other
 * party's ("A的会话列表，跟B的单聊会话看到的是B的logo"). The list (routes/conversations.ts)
 * answers the same fields from the snapshot tables.
 */
import type * as Y from 'yjs';
import { DEFAULT_MAX_MEMBER_COUNT, MemberStatus } from '../../shared/enums.js';
import type { IdentityId } from '../../shared/ids.js';
import type { ParsedKey } from '../../shared/keys.js';
import { activeRole } from '../../shared/rules/access.js';
import { type ConversationMeta, conversationRoots } from '../../shared/schema.js';
import { inboxEntry } from '../inbox/entry.js';
import { liveSummary } from '../log-summary.js';

export interface ConversationResponseVO {
  conversationId: string;
  conversationKey: string;
  conversationType: string;
  conversationName: string | null;
  conversationAvatar: string | null;
  status: number;
  setting: Record<string, unknown>;
  lastMessageId: string | null;
  lastActiveTime: number;
  currentMemberCount: number;
  maxMemberCount: number;
  // Additions.
  unreadCount: number;
  /** The caller's role (null when not an active member, e.g. a platform admin reading). */
  memberRole: number | null;
  createTime: number;
  createdBy: string | null;
  announcement?: ConversationMeta['announcement'];
}

export function conversationVO(
  doc: Y.Doc,
  parsed: ParsedKey,
  identity: IdentityId,
): ConversationResponseVO {
  const { meta, settings, members } = conversationRoots(doc);
  const m = meta.toJSON() as Partial<ConversationMeta>;
  const log = liveSummary(doc);
  const entry = inboxEntry(doc, parsed, identity, log);
  let active = 0;
  for (const member of members.values()) if (member.status === MemberStatus.Active) active += 1;
  const lastId = log.last ? conversationRoots(doc).stamps.get(log.last.message.key)?.id : undefined;
  return {
    conversationId: String(m.conversationId ?? ''),
    conversationKey: parsed.key,
    conversationType: parsed.type,
    conversationName: entry.name ?? null,
    conversationAvatar: entry.avatar ?? null,
    status: entry.status,
    setting: settings.toJSON(),
    lastMessageId: lastId ?? null,
    lastActiveTime: entry.lastActiveTime,
    currentMemberCount: active,
    maxMemberCount: m.maxMemberCount ?? DEFAULT_MAX_MEMBER_COUNT,
    unreadCount: entry.unread,
    memberRole: activeRole(doc, identity) ?? null,
    createTime: m.createdAt ?? 0,
    createdBy: m.createdBy ?? null,
    ...(m.announcement ? { announcement: m.announcement } : {}),
  };
}
