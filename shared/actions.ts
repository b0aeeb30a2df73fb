/**
 * @module The actions on a conversation (send, recall, read, create a group, invite, remove,
 * roles, info, settings, dissolve) and what each writes to its document, computed from the
 * document's current state. One definition for both writers: the SDK records actions as
 * intents and writes them locally; the REST API submits the same writes to the room. Both then
 * go through the same rules (rules/writes.ts).
 */
import type * as Y from 'yjs';
import { DEFAULT_SETTINGS } from './conversation.js';
import { ConversationStatus, MemberRole, MemberStatus } from './enums.js';
import { ConvosyncError } from './errors.js';
import type { DeviceId, IdentityId, MessageKey } from './ids.js';
import type { ConversationKey } from './keys.js';
import type { Author } from './rules/access.js';
import type { Write } from './rules/context.js';
import { tombstone } from './rules/message.js';
import {
  type Announcement,
  type ConversationSettings,
  conversationRoots,
  type InboxPrefs,
  inboxRoots,
  type Member,
  type Message,
  type Profile,
  readKey,
} from './schema.js';

export type Action =
  | { kind: 'send'; message: Message }
  | { kind: 'recall'; target: MessageKey }
  | { kind: 'read'; device: DeviceId; seq: number }
  /** This device has received everything up to `seq` (private chats' delivery receipts). */
  | { kind: 'delivered'; device: DeviceId; seq: number }
  | {
      kind: 'createGroup';
      groupKey: string;
      name: string;
      members: Array<{ identity: IdentityId; identityType: number }>;
      maxMemberCount?: number;
    }
  | {
      kind: 'invite';
      identity: IdentityId;
      identityType: number;
      role?: typeof MemberRole.Member | typeof MemberRole.Admin;
    }
  | { kind: 'remove'; identity: IdentityId }
  | { kind: 'exit' }
  | {
      kind: 'setRole';
      identity: IdentityId;
      role: typeof MemberRole.Member | typeof MemberRole.Admin;
    }
  | { kind: 'transfer'; to: IdentityId }
  /** Mutes a member until a server time (ms), or unmutes with `until: null`. */
  | { kind: 'mute'; identity: IdentityId; until: number | null }
  | { kind: 'updateInfo'; name?: string; avatar?: string; announcement?: string }
  | { kind: 'updateSettings'; settings: Partial<ConversationSettings> }
  | { kind: 'dissolve' }
  /** The author's own nickname, avatar and notification mute in this conversation. */
  | { kind: 'profile'; profile: Profile }
  /** Inbox only: the owner's pin, mute, archive and draft of one conversation. */
  | { kind: 'prefs'; conversation: ConversationKey; prefs: InboxPrefs };

export type ActionKind = Action['kind'];

/** What `action` writes to `doc` now, as `author` at time `now`. Throws if it no longer applies. */
export function actionWrites(doc: Y.Doc, intent: Action, author: Author, now: number): Write[] {
  const { members, messages } = conversationRoots(doc);
  const member = (identity: IdentityId): Member => {
    const m = members.get(identity);
    if (!m) throw new ConvosyncError('MEMBER_NOT_FOUND', `${identity} is not a member`);
    return m;
  };
  switch (intent.kind) {
    case 'send':
      return [{ root: 'messages', key: intent.message.key, value: intent.message }];
    case 'recall': {
      const message = messages.get(intent.target);
      if (!message) throw new ConvosyncError('NOT_FOUND', `no message ${intent.target}`);
      return [{ root: 'messages', key: intent.target, value: tombstone(message, author.id) }];
    }
    case 'read':
      return [{ root: 'reads', key: readKey(author.id, intent.device), value: intent.seq }];
    case 'delivered':
      return [{ root: 'delivered', key: readKey(author.id, intent.device), value: intent.seq }];
    case 'createGroup':
      return genesisWrites(intent.groupKey, intent, author, now);
    case 'invite': {
      // A mute outlives an exit: a re-invite keeps it (only those above the member lift it).
      const mutedUntil = members.get(intent.identity)?.mutedUntil;
      const value: Member = {
        identityType: intent.identityType,
        role: intent.role ?? MemberRole.Member,
        status: MemberStatus.Active,
        joinTime: now,
        invitedBy: author.id,
        ...(mutedUntil !== undefined && mutedUntil > now ? { mutedUntil } : {}),
      };
      return [{ root: 'members', key: intent.identity, value }];
    }
    case 'remove':
    case 'exit': {
      const identity = intent.kind === 'exit' ? author.id : intent.identity;
      const { exitTime: _, ...current } = member(identity);
      return [
        {
          root: 'members',
          key: identity,
          value: { ...current, status: MemberStatus.Exited, exitTime: now },
        },
      ];
    }
    case 'setRole':
      return [
        {
          root: 'members',
          key: intent.identity,
          value: { ...member(intent.identity), role: intent.role },
        },
      ];
    case 'transfer':
      return [
        {
          root: 'members',
          key: intent.to,
          value: { ...member(intent.to), role: MemberRole.Owner },
        },
        {
          root: 'members',
          key: author.id,
          value: { ...member(author.id), role: MemberRole.Admin },
        },
      ];
    case 'mute': {
      const { mutedUntil: _, ...current } = member(intent.identity);
      const value: Member =
        intent.until === null ? current : { ...current, mutedUntil: intent.until };
      return [{ root: 'members', key: intent.identity, value }];
    }
    case 'updateInfo': {
      const writes: Write[] = [];
      if (intent.name !== undefined) writes.push({ root: 'meta', key: 'name', value: intent.name });
      if (intent.avatar !== undefined)
        writes.push({ root: 'meta', key: 'avatar', value: intent.avatar });
      if (intent.announcement !== undefined) {
        const announcement: Announcement = { text: intent.announcement, by: author.id, at: now };
        writes.push({ root: 'meta', key: 'announcement', value: announcement });
      }
      return writes;
    }
    case 'updateSettings':
      return Object.entries(intent.settings).map(([key, value]) => ({
        root: 'settings' as const,
        key,
        value,
      }));
    case 'dissolve':
      return [{ root: 'meta', key: 'status', value: ConversationStatus.Dissolved }];
    case 'profile': {
      const current = conversationRoots(doc).profiles.get(author.id) ?? {};
      return [{ root: 'profiles', key: author.id, value: merged(current, intent.profile) }];
    }
    case 'prefs': {
      const current = inboxRoots(doc).prefs.get(intent.conversation) ?? {};
      return [{ root: 'prefs', key: intent.conversation, value: merged(current, intent.prefs) }];
    }
  }
}

/** `patch` over `current`, fields set to undefined removed (plain JSON has no undefined). */
function merged<T extends object>(current: T, patch: T): T {
  const out: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) delete out[field];
    else out[field] = value;
  }
  return out as T;
}

/** Whether every field of `patch` already has its value in `current`. */
function holds(current: object | undefined, patch: object): boolean {
  const values = (current ?? {}) as Record<string, unknown>;
  return Object.entries(patch).every(([field, value]) => values[field] === value);
}

/** Whether the action's effect is already in `doc` (so applying it again is a no-op). */
export function actionApplied(doc: Y.Doc, intent: Action, author: Author): boolean {
  const { members, messages, reads, meta, settings } = conversationRoots(doc);
  switch (intent.kind) {
    case 'send':
      return messages.has(intent.message.key);
    case 'recall':
      return messages.get(intent.target)?.recalled !== undefined;
    case 'read':
      return (reads.get(readKey(author.id, intent.device)) ?? -1) >= intent.seq;
    case 'delivered':
      return (
        (conversationRoots(doc).delivered.get(readKey(author.id, intent.device)) ?? -1) >=
        intent.seq
      );
    case 'createGroup':
      return meta.has('key');
    case 'invite':
      return members.get(intent.identity)?.status === MemberStatus.Active;
    case 'remove':
      return members.get(intent.identity)?.status === MemberStatus.Exited;
    case 'exit':
      return members.get(author.id)?.status === MemberStatus.Exited;
    case 'setRole':
      return members.get(intent.identity)?.role === intent.role;
    case 'transfer':
      return members.get(intent.to)?.role === MemberRole.Owner;
    case 'mute':
      return (members.get(intent.identity)?.mutedUntil ?? null) === intent.until;
    case 'updateInfo':
      return (
        (intent.name === undefined || meta.get('name') === intent.name) &&
        (intent.avatar === undefined || meta.get('avatar') === intent.avatar) &&
        (intent.announcement === undefined ||
          (meta.get('announcement') as Announcement | undefined)?.text === intent.announcement)
      );
    case 'updateSettings':
      return Object.entries(intent.settings).every(([key, value]) => settings.get(key) === value);
    case 'dissolve':
      return meta.get('status') === ConversationStatus.Dissolved;
    case 'profile':
      return holds(conversationRoots(doc).profiles.get(author.id), intent.profile);
    case 'prefs':
      return holds(inboxRoots(doc).prefs.get(intent.conversation), intent.prefs);
  }
}

/** The writes of a group's genesis (meta, settings and members, the creator as owner). */
export function genesisWrites(
  key: string,
  intent: {
    name: string;
    members: Array<{ identity: IdentityId; identityType: number }>;
    maxMemberCount?: number;
  },
  author: Author,
  now: number,
): Write[] {
  const writes: Write[] = [
    { root: 'meta', key: 'key', value: key },
    { root: 'meta', key: 'type', value: 'group' },
    { root: 'meta', key: 'name', value: intent.name },
    { root: 'meta', key: 'status', value: ConversationStatus.Normal },
    { root: 'meta', key: 'createdBy', value: author.id },
    { root: 'meta', key: 'maxMemberCount', value: intent.maxMemberCount ?? 500 },
  ];
  for (const [field, value] of Object.entries(DEFAULT_SETTINGS))
    writes.push({ root: 'settings', key: field, value });
  const owner: Member = {
    identityType: author.type,
    role: MemberRole.Owner,
    status: MemberStatus.Active,
    joinTime: now,
  };
  writes.push({ root: 'members', key: author.id, value: owner });
  for (const { identity, identityType } of intent.members) {
    if (identity === author.id) continue;
    const member: Member = {
      identityType,
      role: MemberRole.Member,
      status: MemberStatus.Active,
      joinTime: now,
      invitedBy: author.id,
    };
    writes.push({ root: 'members', key: identity, value: member });
  }
  return writes;
}
