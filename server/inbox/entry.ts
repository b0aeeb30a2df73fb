/**
 * @module What one identity's inbox shows for one conversation, computed from the conversation
 * document alone: name and avatar (the group's, or the other party's own profile in a private
 * chat), the last message as a preview (a recalled one as recalled), the last active time, and
 * the unread count (shared/rules/unread.ts: the one definition, counted by ../log-summary.ts).
 */
import type * as Y from 'yjs';
import { ConversationStatus, ConversationType, MemberStatus } from '../../shared/enums.js';
import type { IdentityId } from '../../shared/ids.js';
import type { ParsedKey } from '../../shared/keys.js';
import { readPosition } from '../../shared/rules/read.js';
import { conversationRoots, type InboxEntry } from '../../shared/schema.js';
import type { LogSummary } from '../log-summary.js';

const PREVIEW_LENGTH = 120;

/** Unread counts in an entry saturate here (lists show "999+"). */
export const MAX_UNREAD = 999;

/** The identities whose inbox lists the conversation now: its active members. */
export function listedFor(doc: Y.Doc): { active: IdentityId[]; exited: IdentityId[] } {
  const active: IdentityId[] = [];
  const exited: IdentityId[] = [];
  for (const [identity, member] of conversationRoots(doc).members.entries()) {
    (member.status === MemberStatus.Active ? active : exited).push(identity as IdentityId);
  }
  return { active, exited };
}

export function inboxEntry(
  doc: Y.Doc,
  parsed: ParsedKey,
  identity: IdentityId,
  log: LogSummary,
): InboxEntry {
  const { meta, profiles, reads, settings } = conversationRoots(doc);
  const entry: InboxEntry = {
    type: parsed.type,
    lastActiveTime: log.last?.at ?? (meta.get('createdAt') as number | undefined) ?? 0,
    unread: Math.min(MAX_UNREAD, log.unread(identity, readPosition(reads.entries(), identity))),
    status: (meta.get('status') as ConversationStatus | undefined) ?? ConversationStatus.Normal,
    notify:
      settings.get('enableNotification') !== false &&
      profiles.get(identity)?.muteNotification !== true,
  };
  const label = (id: IdentityId) => {
    const profile = profiles.get(id);
    if (profile?.nickname) entry.name = profile.nickname;
    else entry.name = id;
    if (profile?.avatar) entry.avatar = profile.avatar;
  };
  switch (parsed.type) {
    case ConversationType.Group: {
      const name = meta.get('name');
      const avatar = meta.get('avatar');
      if (typeof name === 'string') entry.name = name;
      if (typeof avatar === 'string' && avatar !== '') entry.avatar = avatar;
      break;
    }
    case ConversationType.Private:
      label(parsed.members[0] === identity ? parsed.members[1] : parsed.members[0]);
      break;
    case ConversationType.System:
      entry.name = 'System notices';
      break;
    case ConversationType.Assistant:
      // The customer sees the service; an admin who answered sees the customer.
      if (identity === parsed.owner) entry.name = 'Customer service';
      else label(parsed.owner);
      break;
  }
  if (log.last) {
    const { message } = log.last;
    entry.preview = {
      sender: message.sender,
      format: message.format,
      text: message.recalled ? '' : message.content.slice(0, PREVIEW_LENGTH),
      recalled: message.recalled !== undefined,
      system: message.system !== undefined,
    };
  }
  return entry;
}
