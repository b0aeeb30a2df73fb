/**
 * @module Typed readers and writers over a conversation Y.Doc, shared by the server (genesis,
 * stamps, membership checks) and the SDK (message list, send).
 */
import type * as Y from 'yjs';
import {
  ConversationStatus,
  ConversationType,
  DEFAULT_MAX_MEMBER_COUNT,
  MemberRole,
  MemberStatus,
} from './enums.js';
import type { IdentityId, MessageId, MessageKey } from './ids.js';
import type { ParsedKey } from './keys.js';
import {
  type CardState,
  type ConversationMeta,
  type ConversationSettings,
  cardKey,
  conversationRoots,
  type Member,
  type Message,
  type SERVER_AUTHOR,
  type Stamp,
} from './schema.js';

export const DEFAULT_SETTINGS: ConversationSettings = {
  allowInvite: true,
  allowMemberExit: true,
  enableMessageHistory: true,
  messageRetentionDays: 0,
  enableNotification: true,
};

export interface GenesisInput {
  parsed: ParsedKey;
  conversationId: MessageId;
  now: number;
  /** The identity whose connection caused the genesis. */
  createdBy: IdentityId;
  /** Known identity types (from tokens); unknown ones are written as 0 and filled in later. */
  identityTypes: ReadonlyMap<IdentityId, number>;
}

/** The identities a deterministic conversation starts with, or undefined for groups. */
export function genesisMembers(parsed: ParsedKey): IdentityId[] | undefined {
  switch (parsed.type) {
    case ConversationType.Private:
      return [...parsed.members];
    case ConversationType.System:
    case ConversationType.Assistant:
      return [parsed.owner];
    case ConversationType.Group:
      return undefined;
  }
}

/**
 * Writes the meta, settings and members of a deterministic conversation (private, system,
 * assistant). Call inside a server transaction; the caller binds its clientID in `clients`.
 */
export function writeGenesis(doc: Y.Doc, input: GenesisInput): void {
  const members = genesisMembers(input.parsed);
  if (!members) throw new Error('groups are created by their owner, not by genesis');
  const roots = conversationRoots(doc);
  const meta: ConversationMeta = {
    conversationId: input.conversationId,
    key: input.parsed.key,
    type: input.parsed.type,
    status: ConversationStatus.Normal,
    maxMemberCount: input.parsed.type === ConversationType.Private ? 2 : DEFAULT_MAX_MEMBER_COUNT,
    createdAt: input.now,
    createdBy: input.createdBy,
  };
  for (const [field, value] of Object.entries(meta)) roots.meta.set(field, value);
  for (const [field, value] of Object.entries(DEFAULT_SETTINGS)) roots.settings.set(field, value);
  for (const identity of members) {
    const member: Member = {
      identityType: input.identityTypes.get(identity) ?? 0,
      // Private chats have no hierarchy; system/assistant owners own their channel.
      role: input.parsed.type === ConversationType.Private ? MemberRole.Member : MemberRole.Owner,
      status: MemberStatus.Active,
      joinTime: input.now,
    };
    roots.members.set(identity, member);
  }
}

export function hasGenesis(doc: Y.Doc): boolean {
  return conversationRoots(doc).meta.has('conversationId');
}

export function readMeta(doc: Y.Doc): Partial<ConversationMeta> {
  return conversationRoots(doc).meta.toJSON() as Partial<ConversationMeta>;
}

export function getMember(doc: Y.Doc, identity: IdentityId): Member | undefined {
  return conversationRoots(doc).members.get(identity);
}

export function isActiveMember(doc: Y.Doc, identity: IdentityId): boolean {
  return getMember(doc, identity)?.status === MemberStatus.Active;
}

export function bindClient(
  doc: Y.Doc,
  clientId: number,
  author: IdentityId | typeof SERVER_AUTHOR,
): void {
  conversationRoots(doc).clients.set(String(clientId), author);
}

/** A message as the UI shows it: the sender's value plus the server's stamp once accepted. */
export interface MessageView extends Message {
  stamp?: Stamp;
  /** Not yet accepted by the server (no stamp). */
  pending: boolean;
  /** For a card message: the latest state of its business object, if a backend job set one. */
  cardState?: CardState;
}

/**
 * All messages, accepted ones by server `seq`, then pending ones in the order their sender wrote
 * them (`sentAt`, then key). Every replica that has the same stamps shows the same order.
 */
export function listMessages(doc: Y.Doc, viewer?: IdentityId): MessageView[] {
  const { messages, stamps, cards } = conversationRoots(doc);
  const since = viewer === undefined ? 0 : historyStart(doc, viewer);
  const views: MessageView[] = [];
  for (const [key, message] of messages.entries()) {
    const stamp = stamps.get(key);
    if (stamp && stamp.at < since) continue;
    const view: MessageView = stamp
      ? { ...message, stamp, pending: false }
      : { ...message, pending: true };
    const state = message.card ? cards.get(cardKey(message.card)) : undefined;
    if (state) view.cardState = state;
    views.push(view);
  }
  return views.sort(compareViews);
}

/**
 * The earliest acceptance time `viewer` sees: with the group setting `enableMessageHistory` off,
 * a member sees only what was accepted since it joined. (The document itself still holds the
 * earlier messages: replication is per document, so this is a view rule, applied by the SDK,
 * REST history and search alike.)
 */
export function historyStart(doc: Y.Doc, viewer: IdentityId): number {
  const { settings, members } = conversationRoots(doc);
  if (settings.get('enableMessageHistory') !== false) return 0;
  const member = members.get(viewer);
  if (!member || member.role === MemberRole.Owner) return 0;
  return member.joinTime;
}

function compareViews(a: MessageView, b: MessageView): number {
  if (a.stamp && b.stamp) return a.stamp.seq - b.stamp.seq;
  if (a.stamp) return -1;
  if (b.stamp) return 1;
  return a.sentAt - b.sentAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Message keys that have a value but no stamp yet: what the server must stamp. */
export function unstampedKeys(doc: Y.Doc, candidates: Iterable<string>): MessageKey[] {
  const { messages, stamps } = conversationRoots(doc);
  const out: MessageKey[] = [];
  for (const key of candidates) {
    if (messages.has(key) && !stamps.has(key)) out.push(key as MessageKey);
  }
  return out;
}

/** The highest stamped seq (0 for none). */
export function lastSeq(doc: Y.Doc): number {
  let max = 0;
  for (const stamp of conversationRoots(doc).stamps.values()) max = Math.max(max, stamp.seq);
  return max;
}
