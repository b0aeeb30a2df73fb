/**
 * @module Conversation keys (the spec's `conversation_key`) and document names.
 *
 * Every Yjs document is named by its key, so the key is also the y-websocket room name.
 *   private_{min(a,b)}_{max(a,b)}   a < b in JS string order (UTF-16 code units; for the
 *                                   ASCII identity alphabet this equals byte order and
 *                                   Postgres `COLLATE "C"`)
 *   group_{uuid without dashes}     32 lowercase hex characters
 *   system_{identityId}             notices from backend jobs to one identity
 *   assistant_{identityId}          one identity talking to platform customer service
 *   inbox_{identityId}              an identity's conversation list (not a conversation)
 *
 * Parsing is unambiguous because identity ids cannot contain `_` (see ids.ts): a private key
 * has exactly two `_` after its prefix, so it splits in one way only.
 */
import { ConversationType } from './enums.js';
import { ConvosyncError } from './errors.js';
import { type IdentityId, isIdentityId } from './ids.js';

declare const brand: unique symbol;
export type ConversationKey = string & { readonly [brand]: 'ConversationKey' };
export type InboxKey = string & { readonly [brand]: 'InboxKey' };
export type DocName = ConversationKey | InboxKey;

export type ParsedKey =
  | {
      type: typeof ConversationType.Private;
      key: ConversationKey;
      members: [IdentityId, IdentityId];
    }
  | { type: typeof ConversationType.Group; key: ConversationKey; groupId: string }
  | { type: typeof ConversationType.System; key: ConversationKey; owner: IdentityId }
  | { type: typeof ConversationType.Assistant; key: ConversationKey; owner: IdentityId };

const GROUP_ID = /^[0-9a-f]{32}$/;

export function privateKey(a: IdentityId, b: IdentityId): ConversationKey {
  if (!isIdentityId(a) || !isIdentityId(b)) throw new ConvosyncError('INVALID_IDENTITY');
  if (a === b)
    throw new ConvosyncError('INVALID_KEY', 'a private chat needs two different identities');
  const [min, max] = a < b ? [a, b] : [b, a];
  return `private_${min}_${max}` as ConversationKey;
}

/** A new group key; `uuid` may be given (with or without dashes) to make a known one. */
export function groupKey(uuid: string = globalThis.crypto.randomUUID()): ConversationKey {
  const id = uuid.replaceAll('-', '').toLowerCase();
  if (!GROUP_ID.test(id)) throw new ConvosyncError('INVALID_KEY', 'a group id is a UUID');
  return `group_${id}` as ConversationKey;
}

export function systemKey(owner: IdentityId): ConversationKey {
  if (!isIdentityId(owner)) throw new ConvosyncError('INVALID_IDENTITY');
  return `system_${owner}` as ConversationKey;
}

export function assistantKey(owner: IdentityId): ConversationKey {
  if (!isIdentityId(owner)) throw new ConvosyncError('INVALID_IDENTITY');
  return `assistant_${owner}` as ConversationKey;
}

export function inboxKey(owner: IdentityId): InboxKey {
  if (!isIdentityId(owner)) throw new ConvosyncError('INVALID_IDENTITY');
  return `inbox_${owner}` as InboxKey;
}

/** Parses a conversation key, or throws INVALID_KEY. Private keys must be in canonical order. */
export function parseKey(key: string): ParsedKey {
  const parsed = tryParseKey(key);
  if (!parsed)
    throw new ConvosyncError('INVALID_KEY', `not a conversation key: ${key.slice(0, 120)}`);
  return parsed;
}

export function tryParseKey(key: string): ParsedKey | undefined {
  const cut = key.indexOf('_');
  if (cut < 0) return undefined;
  const prefix = key.slice(0, cut);
  const rest = key.slice(cut + 1);
  const k = key as ConversationKey;
  switch (prefix) {
    case 'private': {
      const parts = rest.split('_');
      if (parts.length !== 2) return undefined;
      const [a, b] = parts as [string, string];
      if (!isIdentityId(a) || !isIdentityId(b) || !(a < b)) return undefined;
      return { type: ConversationType.Private, key: k, members: [a, b] };
    }
    case 'group':
      return GROUP_ID.test(rest)
        ? { type: ConversationType.Group, key: k, groupId: rest }
        : undefined;
    case 'system':
      return isIdentityId(rest)
        ? { type: ConversationType.System, key: k, owner: rest }
        : undefined;
    case 'assistant':
      return isIdentityId(rest)
        ? { type: ConversationType.Assistant, key: k, owner: rest }
        : undefined;
    default:
      return undefined;
  }
}

/** An inbox document: one identity's conversation list (not a conversation). */
export interface ParsedInbox {
  type: 'inbox';
  key: InboxKey;
  owner: IdentityId;
}

/** Any document the server syncs: a conversation or an inbox. */
export type ParsedDoc = ParsedKey | ParsedInbox;

/** Parses a conversation key or an inbox name, or returns undefined. */
export function tryParseDocKey(name: string): ParsedDoc | undefined {
  const owner = parseInboxKey(name);
  if (owner !== undefined) return { type: 'inbox', key: name as InboxKey, owner };
  return tryParseKey(name);
}

/** Parses a conversation key or an inbox name, or throws INVALID_KEY. */
export function parseDocKey(name: string): ParsedDoc {
  const parsed = tryParseDocKey(name);
  if (!parsed)
    throw new ConvosyncError('INVALID_KEY', `not a document name: ${name.slice(0, 120)}`);
  return parsed;
}

/** The owner of an inbox document name, or undefined if `name` is not one. */
export function parseInboxKey(name: string): IdentityId | undefined {
  if (!name.startsWith('inbox_')) return undefined;
  const owner = name.slice('inbox_'.length);
  return isIdentityId(owner) ? owner : undefined;
}
