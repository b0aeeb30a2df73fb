/**
 * @module The convosync SDK's browser-safe entry point. Node apps add
 * `leveldbStore` from `client/store/leveldb.ts` for durable local storage.
 */

export type { MessageView } from '../shared/conversation.js';
export {
  ConversationStatus,
  ConversationType,
  MemberRole,
  MemberStatus,
  MessageFormat,
} from '../shared/enums.js';
export { ConvosyncError, type ErrorCode } from '../shared/errors.js';
export { assistantKey, groupKey, parseKey, privateKey, systemKey } from '../shared/keys.js';
export type { PresenceEntry, PresenceState } from '../shared/presence.js';
export { type Client, type ClientOptions, createClient } from './client.js';
export type { Conversation, ConversationEvents } from './conversation.js';
export type { FileData, UploadOptions } from './files.js';
export type { LocalSearchOptions } from './local-search.js';
export type { Intent } from './outbox.js';
export type { Presence, PresenceEvents, PresenceOptions, TypingView } from './presence.js';
export type { LocalSearchHit } from './search.js';
export { indexeddbStore } from './store/indexeddb.js';
export { memoryStore } from './store/memory.js';
export type { ClientStore } from './store/types.js';
export type { ConnectionStatus, Rejection } from './sync.js';
