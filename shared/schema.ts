/**
 * @module The document schema: root names and value shapes of a conversation document and of an
 * inbox document. Published in the README; a stock y-websocket client or a backend tool reads
 * documents through exactly these names.
 *
 * Conversation document (named by its conversation key), every root a Y.Map:
 *   meta      field -> value         conversation info (see ConversationMeta)
 *   settings  field -> value         ConversationSetting (see ConversationSettings)
 *   members   identityId -> Member   membership and role, a plain object per member
 *   profiles  identityId -> Profile  a member's own nickname and notification mute
 *   reads     "{identityId}:{deviceId}" -> seq   read position of one device
 *   delivered "{identityId}:{deviceId}" -> seq   how far one device has received (private chats)
 *   messages  messageKey -> Message  immutable plain objects; a recall overwrites the value with
 *                                    a tombstone (same key, content dropped)
 *   stamps    messageKey -> Stamp    server-only: seq, BIGINT message id, accepted/recall time
 *   clients   "{clientID}" -> identityId   server-only: which identity owns a Yjs clientID
 *   cards     "{bizType}:{bizId}" -> CardState   server-only: live state of card messages' objects
 *
 * Single writer per key (DESIGN.md "Documents"): each map key has one kind of writer, so the
 * filter checks each key against one rule and no two writers race on a key.
 *
 * Values are plain JSON objects rather than one Y.Map per message: measured at 100k short
 * messages, a Y.Map per message costs ~248 MB heap and 1.4-2 s to load, plain values ~56 MB and
 * 0.3-0.5 s (notes/yjs-update-filter-findings.md §4).
 */
import type * as Y from 'yjs';
import type {
  ConversationStatus,
  ConversationType,
  MemberRole,
  MemberStatus,
  MessageFormat,
} from './enums.js';
import type { DeviceId, IdentityId, MessageId, MessageKey } from './ids.js';
import type { ConversationKey } from './keys.js';

export const ROOTS = {
  meta: 'meta',
  settings: 'settings',
  members: 'members',
  profiles: 'profiles',
  reads: 'reads',
  delivered: 'delivered',
  messages: 'messages',
  stamps: 'stamps',
  clients: 'clients',
  cards: 'cards',
} as const;
/** The roots of a conversation document. */
export type ConversationRootName = (typeof ROOTS)[keyof typeof ROOTS];
export const ROOT_NAMES: readonly ConversationRootName[] = Object.values(ROOTS);
/** Every root name of either kind of document (conversation or inbox). */
export type RootName = ConversationRootName | 'entries' | 'prefs';
/** The roots of an inbox document: entries and prefs, and the server's clientID bindings. */
export const INBOX_ROOT_NAMES: readonly RootName[] = ['entries', 'prefs', 'clients'];

/** Value of `clients` for clientIDs the server itself writes with. */
export const SERVER_AUTHOR = '$server';

/** Meta fields only the server writes (after a genesis it accepted). */
export const SERVER_META_FIELDS = ['conversationId', 'createdAt'] as const;
/** Meta fields a group's creator writes once, in its genesis. */
export const GENESIS_META_FIELDS = ['key', 'type', 'createdBy', 'maxMemberCount'] as const;
/** Meta fields owner and admins may change later. `status` is the owner's (dissolve). */
export const EDITABLE_META_FIELDS = ['name', 'avatar', 'announcement'] as const;

export interface Announcement {
  text: string;
  by: IdentityId;
  /** The author's clock (ms); display only. */
  at: number;
}

export interface ConversationMeta {
  /** t_conversation.conversation_id: BIGINT as a decimal string. */
  conversationId: MessageId;
  key: ConversationKey;
  type: ConversationType;
  name?: string;
  avatar?: string;
  status: ConversationStatus;
  maxMemberCount: number;
  /** Server time (ms) of the genesis. */
  createdAt: number;
  createdBy: IdentityId;
  announcement?: Announcement;
}

export interface ConversationSettings {
  allowInvite: boolean;
  allowMemberExit: boolean;
  enableMessageHistory: boolean;
  messageRetentionDays: number;
  enableNotification: boolean;
  /** Only owner and admins may post (an addition to the spec's ConversationSetting). */
  muteAll?: boolean;
}

export interface Member {
  identityType: number;
  role: MemberRole;
  status: MemberStatus;
  joinTime: number;
  exitTime?: number;
  invitedBy?: IdentityId;
  /** Muted by an owner/admin until this server time (ms); the filter refuses its posts. */
  mutedUntil?: number;
}

export interface Profile {
  nickname?: string;
  /** The member's avatar URL, shown in conversation lists. */
  avatar?: string;
  muteNotification?: boolean;
}

/** What a system message in the log reports; written by the server only. */
export type SystemEvent =
  /** `members`: everyone the genesis made a member (absent in groups created before it was kept). */
  | { event: 'created'; actor: IdentityId; name: string; members?: IdentityId[] }
  | { event: 'joined'; actor: IdentityId; target: IdentityId }
  | { event: 'exited'; actor: IdentityId }
  | { event: 'removed'; actor: IdentityId; target: IdentityId }
  | { event: 'role'; actor: IdentityId; target: IdentityId; role: MemberRole }
  | { event: 'owner'; actor: IdentityId; target: IdentityId }
  | { event: 'muted'; actor: IdentityId; target: IdentityId; until: number | null }
  | { event: 'muteAll'; actor: IdentityId; on: boolean }
  | { event: 'info'; actor: IdentityId; name?: string; avatar?: string }
  | { event: 'announcement'; actor: IdentityId; text: string }
  | { event: 'dissolved'; actor: IdentityId };

export interface FileRef {
  url: string;
  size: number;
  mime: string;
  name?: string;
}

export interface CardRef {
  /** t_msg_body.relating_biz_type / relating_biz_id of the business object. */
  bizType: number;
  bizId: string;
  title?: string;
}

/** A message as its sender wrote it. Immutable; only a recall replaces it. */
export interface Message {
  key: MessageKey;
  sender: IdentityId;
  senderType: number;
  format: MessageFormat;
  /** Text, or the caption of a media message. Empty in a tombstone. */
  content: string;
  /** The sender's clock (ms) when written; display only, never trusted for rules. */
  sentAt: number;
  replyTo?: MessageKey;
  file?: FileRef;
  duration?: number;
  card?: CardRef;
  forwardedFrom?: { conversation: ConversationKey; key: MessageKey };
  /** Set on the tombstone that replaces a recalled message. */
  recalled?: { by: IdentityId };
  /** Set on messages the server writes to report a change (joins, roles, announcements). */
  system?: SystemEvent;
}

/** Written by the server only, after it accepted a message. */
export interface Stamp {
  /** Per-conversation order, 1, 2, 3, ... without gaps. */
  seq: number;
  /** t_msg_body.message_id: BIGINT, unique across the server. */
  id: MessageId;
  /** Server time (ms) of acceptance; the recall window counts from here. */
  at: number;
  /** Server time (ms) of the recall. */
  recalledAt?: number;
}

export interface ConversationRoots {
  meta: Y.Map<ConversationMeta[keyof ConversationMeta]>;
  settings: Y.Map<ConversationSettings[keyof ConversationSettings]>;
  members: Y.Map<Member>;
  profiles: Y.Map<Profile>;
  reads: Y.Map<number>;
  delivered: Y.Map<number>;
  messages: Y.Map<Message>;
  stamps: Y.Map<Stamp>;
  clients: Y.Map<string>;
  cards: Y.Map<CardState>;
}

/**
 * The current state of a card's business object (an order's status), written by backend jobs
 * through the REST API and shown on every card message with the same `{bizType}:{bizId}`.
 */
export interface CardState {
  status?: string;
  title?: string;
  /** Short label -> value pairs the card shows (amount, tracking number, ...). */
  fields?: Record<string, string>;
  /** Server time (ms) of the update. */
  updatedAt: number;
}

export function cardKey(card: CardRef): string {
  return `${card.bizType}:${card.bizId}`;
}

const rootsCache = new WeakMap<Y.Doc, ConversationRoots>();

/**
 * The typed roots of a conversation document. Defining every root up front matters on the
 * server: `Y.applyUpdate` creates unknown roots as a side effect (findings §2). Built once per
 * document: the filter and the rules ask for them several times per message, and once
 * `getMap` has typed a root, the document hands out that same instance for good.
 */
export function conversationRoots(doc: Y.Doc): ConversationRoots {
  let roots = rootsCache.get(doc);
  if (roots === undefined) {
    roots = Object.freeze({
      meta: doc.getMap(ROOTS.meta),
      settings: doc.getMap(ROOTS.settings),
      members: doc.getMap(ROOTS.members),
      profiles: doc.getMap(ROOTS.profiles),
      reads: doc.getMap(ROOTS.reads),
      delivered: doc.getMap(ROOTS.delivered),
      messages: doc.getMap(ROOTS.messages),
      stamps: doc.getMap(ROOTS.stamps),
      clients: doc.getMap(ROOTS.clients),
      cards: doc.getMap(ROOTS.cards),
    }) as ConversationRoots;
    rootsCache.set(doc, roots);
  }
  return roots;
}

export function readKey(identity: IdentityId, device: DeviceId): string {
  return `${identity}:${device}`;
}

/** Inbox document (`inbox_{identityId}`): the identity's conversation list. */
export const INBOX_ROOTS = {
  /** conversationKey -> InboxEntry, written by the server. */
  entries: 'entries',
  /** conversationKey -> InboxPrefs, written by the inbox's owner (any of its devices). */
  prefs: 'prefs',
} as const;

export interface InboxEntry {
  type: ConversationType;
  /** The other party's name for private chats, the group's name for groups. */
  name?: string;
  avatar?: string;
  /** The last message; a recalled one previews with empty text and `recalled: true`. */
  preview?: {
    sender: IdentityId;
    format: MessageFormat;
    text: string;
    recalled: boolean;
    system: boolean;
  };
  /** Server time (ms) of the last message, or of the creation. */
  lastActiveTime: number;
  /** Messages from others after this identity's read position. */
  unread: number;
  /** The conversation's status (dissolved groups stay listed, read-only). */
  status: ConversationStatus;
  /**
   * Whether new messages should notify this identity: off when the group's
   * `enableNotification` is off or the identity set its member `muteNotification`. (The inbox
   * preference `muted` is the identity's own per-conversation switch on top of this.)
   */
  notify: boolean;
}

export interface InboxPrefs {
  pinned?: boolean;
  muted?: boolean;
  archived?: boolean;
  /** Unsent text, synced to the identity's other devices. */
  draft?: string;
  /**
   * Deleted from this identity's list: the entry's lastActiveTime when it was deleted. The list
   * hides the conversation until something newer happens in it (then it comes back, like a
   * chat app's deleted chat that gets a new message). The conversation itself is untouched.
   */
  deletedAt?: number;
}

export function inboxRoots(doc: Y.Doc): {
  entries: Y.Map<InboxEntry>;
  prefs: Y.Map<InboxPrefs>;
  clients: Y.Map<string>;
} {
  return {
    entries: doc.getMap(INBOX_ROOTS.entries),
    prefs: doc.getMap(INBOX_ROOTS.prefs),
    clients: doc.getMap(ROOTS.clients),
  };
}
