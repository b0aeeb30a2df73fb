/**
 * @module What one identity's inbox shows for one conversation, computed from the conversation
 * document alone: name and avatar (the group's, or the other party's own profile in a private
 * chat), the last message as a preview (a recalled one as recalled), the last active time, and
 * the unread count (shared/rules/unread.ts: the one definition).
 */
import type * as Y from 'yjs';
import { ConversationStatus, ConversationType, MemberStatus } from '../../shared/enums.js';
import type { IdentityId } from '../../shared/ids.js';
import type { ParsedKey } from '../../shared/keys.js';
import { readPosition } from '../../shared/rules/read.js';
import { canBeUnread, isUnread } from '../../shared/rules/unread.js';
import { conversationRoots, type InboxEntry, type Message } from '../../shared/schema.js';

const PREVIEW_LENGTH = 120;

/** Unread counts saturate here (lists show "999+"): counting stays O(cap) per member. */
export const MAX_UNREAD = 999;

/** What every member's entry is computed from: the log's senders by seq and its last message. */
export interface LogSummary {
  /**
   * Sender of each stamped message by seq (index 0 unused), for the messages that can be unread
   * at all (`canBeUnread`: system and recalled messages are left out).
   */
  senders: Array<IdentityId | undefined>;
  last?: { message: Message; at: number; seq: number };
}

const live = new WeakMap<Y.Doc, LogSummary>();

/**
 * The summary of a loaded document, kept up to date by observing its `stamps` and `messages`:
 * built by one scan the first time, then O(changes), so a pass over a 100k-message conversation
 * does not rescan its log.
 */
export function liveSummary(doc: Y.Doc): LogSummary {
  const known = live.get(doc);
  if (known) return known;
  const summary = summarize(doc);
  live.set(doc, summary);
  const { messages, stamps } = conversationRoots(doc);
  stamps.observe((event) => {
    for (const key of event.keysChanged) {
      const stamp = stamps.get(key);
      const message = messages.get(key);
      if (!stamp || !message) continue;
      // A recall rewrites the stamp (recalledAt) and the message (tombstone): either way in.
      summary.senders[stamp.seq] = canBeUnread(message) ? message.sender : undefined;
      if (!summary.last || stamp.seq >= summary.last.seq)
        summary.last = { message, at: stamp.at, seq: stamp.seq };
    }
  });
  messages.observe((event) => {
    const last = summary.last;
    if (last && event.keysChanged.has(last.message.key)) {
      const message = messages.get(last.message.key);
      if (message)
        summary.last = { ...last, message }; // a recall of the last message
      else Object.assign(summary, { last: undefined }, summarize(doc)); // expired: rescan
    }
    for (const key of event.keysChanged) {
      const message = messages.get(key);
      const stamp = stamps.get(key);
      // Recalled, or gone (expired by messageRetentionDays): not unread any more.
      if (stamp && (!message || !canBeUnread(message))) summary.senders[stamp.seq] = undefined;
    }
  });
  return summary;
}

/** One scan of the log. */
export function summarize(doc: Y.Doc): LogSummary {
  const { messages, stamps } = conversationRoots(doc);
  const senders: Array<IdentityId | undefined> = [];
  let last: LogSummary['last'];
  let lastSeq = 0;
  for (const [key, stamp] of stamps.entries()) {
    const message = messages.get(key);
    if (!message) continue;
    if (canBeUnread(message)) senders[stamp.seq] = message.sender;
    if (stamp.seq > lastSeq) {
      lastSeq = stamp.seq;
      last = { message, at: stamp.at, seq: stamp.seq };
    }
  }
  return { senders, ...(last ? { last } : {}) };
}

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
    unread: unread(log, readPosition(reads.entries(), identity), identity),
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

function unread(log: LogSummary, position: number, identity: IdentityId): number {
  let count = 0;
  // From the newest down, so a member far behind costs at most MAX_UNREAD steps. `senders`
  // holds only messages that `canBeUnread`; the rest of `isUnread` is the loop bound and this.
  for (let seq = log.senders.length - 1; seq > position && count < MAX_UNREAD; seq -= 1) {
    const sender = log.senders[seq];
    if (
      sender !== undefined &&
      isUnread({ seq, sender, system: false, recalled: false }, identity, position)
    )
      count += 1;
  }
  return count;
}
