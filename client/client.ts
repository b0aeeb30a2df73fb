/**
 * @module createClient: the SDK's root object. It knows who the user is (from the token), where
 * the server is, and where the device keeps its data; it opens conversations.
 */
import { ConvosyncError } from '../shared/errors.js';
import { asIdentityId, type DeviceId, newMessageKey } from '../shared/ids.js';
import {
  type ConversationKey,
  type DocName,
  groupKey,
  inboxKey,
  parseDocKey,
  privateKey,
} from '../shared/keys.js';
import type { PresenceEntry } from '../shared/presence.js';
import type { FileRef } from '../shared/schema.js';
import { Conversation } from './conversation.js';
import {
  downloadFile,
  type FileData,
  type FileHttp,
  fileSrc,
  type UploadOptions,
  uploadFile,
} from './files.js';
import { Inbox } from './inbox.js';
import { type LocalSearchOptions, searchDevice } from './local-search.js';
import type { PresenceOptions } from './presence.js';
import { lookupPresence } from './presence-lookup.js';
import type { LocalSearchHit } from './search.js';
import { memoryStore } from './store/memory.js';
import type { ClientStore } from './store/types.js';
import { identityFromToken, type TokenIdentity, tokenExpiry } from './token.js';

export interface ClientOptions {
  /** The server's base URL: http(s):// or ws(s)://host:port. */
  url: string;
  /** A JWT from your auth service (or `npm run token` in development). */
  token: string;
  /** Where the device keeps documents and intents; defaults to memory (lost on exit). */
  storage?: ClientStore;
  /** A WebSocket implementation, for Node < 22 (e.g. the `ws` package). */
  WebSocket?: typeof globalThis.WebSocket;
  /** Start offline (no connection until `goOnline()`). */
  offline?: boolean;
  /** Upper bound of the reconnect backoff (doubling from 100 ms), default 10 s. */
  maxBackoffMs?: number;
  /** Typing throttle, expiry and cap of every conversation's `presence`. */
  presence?: PresenceOptions;
  /**
   * Returns a fresh token for the same identity (e.g. from your auth service). Called before the
   * current token's `exp` (see `refreshBeforeMs`) and whenever the server closes a socket for an
   * expired or refused token; sockets then reconnect with it and pending intents go out.
   * Without it, call `setToken` yourself before `exp`.
   */
  getToken?: () => Promise<string>;
  /**
   * How long before `exp` to call `getToken` (at most half the token's remaining life); 60 s.
   * 0: only when the server closes a socket for the expired token.
   */
  refreshBeforeMs?: number;
}

export interface Client {
  readonly identity: TokenIdentity;
  /** Uploads a file into a conversation; send the FileRef in a message of the same format. */
  upload(conversationKey: string, data: FileData, options: UploadOptions): Promise<FileRef>;
  /** The bytes of a message's file (members of its conversation only). */
  download(file: FileRef, signal?: AbortSignal): Promise<Uint8Array>;
  /** An absolute URL of a file for `<img src>` (carries the token as `?token=`). */
  fileSrc(file: FileRef): string;
  /** Opens a conversation by key; the same object is returned while it stays open. */
  open(key: string): Promise<Conversation>;
  /**
   * The identity's conversation list (its inbox document), synced across its devices: entries
   * kept by the server, pin/mute/archive/draft written here, offline too.
   */
  inbox(): Promise<Inbox>;
  /** Opens (creating on first sync) the private chat with `other`. */
  openPrivate(other: string): Promise<Conversation>;
  /**
   * Creates a group owned by this identity, offline too: the new `group_<uuid>` document is
   * written locally and the server accepts its genesis when it syncs.
   */
  createGroup(options: {
    name: string;
    members: Array<{ identity: string; identityType: number }>;
    maxMemberCount?: number;
  }): Promise<Conversation>;
  /** Disconnects every conversation; sends queue locally until `goOnline()`. */
  goOffline(): void;
  goOnline(): void;
  readonly online: boolean;
  /** Replaces the token for future (re)connections, e.g. before it expires. */
  setToken(token: string): void;
  /**
   * Online status and last-seen time of identities across all conversations (a contact list),
   * from the server; needs a connection (rejects with UNREACHABLE without one).
   */
  presence(identities: readonly string[]): Promise<PresenceEntry[]>;
  /**
   * Searches the messages of every conversation this device holds, offline: case-insensitive
   * substring (Chinese too), recalled messages never, newest first. Rejects with BAD_REQUEST
   * for an empty or over-100-character query.
   */
  search(query: string, options?: LocalSearchOptions): Promise<LocalSearchHit[]>;
  /** Closes every conversation and the store. */
  close(): Promise<void>;
}

export function createClient(options: ClientOptions): Client {
  const identity = identityFromToken(options.token);
  const store = options.storage ?? memoryStore();
  const serverUrl = `${options.url.replace(/^http/, 'ws').replace(/\/+$/, '')}/sync`;
  const open = new Map<DocName, Promise<Conversation>>();
  let inbox: Promise<Inbox> | undefined;
  let device: Promise<DeviceId> | undefined;
  let token = options.token;
  const http: FileHttp = {
    baseUrl: options.url.replace(/^ws/, 'http').replace(/\/+$/, ''),
    token: () => token,
  };
  let online = !options.offline;
  let closed = false;
  // Strictly increasing: messages written in the same millisecond keep the order they were
  // written in (pending ones are listed by sentAt, and the server stamps a batch in that order).
  let lastNow = 0;
  const now = () => {
    lastNow = Math.max(Date.now(), lastNow + 1);
    return lastNow;
  };

  const each = (f: (conversation: Conversation) => void) => {
    for (const pending of open.values()) void pending.then(f, () => undefined);
  };

  // Token refresh: one call to getToken at a time, shared by every conversation that needs it.
  let refreshing: Promise<string> | undefined;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshToken = options.getToken
    ? (): Promise<string> => {
        const getToken = options.getToken!;
        refreshing ??= getToken()
          .then((next) => {
            client.setToken(next);
            return next;
          })
          .finally(() => {
            refreshing = undefined;
          });
        return refreshing;
      }
    : undefined;
  const scheduleRefresh = () => {
    clearTimeout(refreshTimer);
    const expiry = tokenExpiry(token);
    if (!refreshToken || closed || expiry === undefined || options.refreshBeforeMs === 0) return;
    const left = expiry - Date.now();
    const lead = Math.min(options.refreshBeforeMs ?? 60_000, left / 2);
    refreshTimer = setTimeout(
      () => {
        // A failure is retried when a socket is closed for the expired token.
        refreshToken().catch(() => undefined);
      },
      Math.max(0, Math.min(left - lead, 2 ** 31 - 1)),
    );
    (refreshTimer as { unref?: () => void }).unref?.();
  };

  const client: Client = {
    identity,
    upload: (key, data, uploadOptions) => uploadFile(http, key, data, uploadOptions),
    download: (file, signal) => downloadFile(http, file, signal),
    fileSrc: (file) => fileSrc(http, file),
    get online() {
      return online;
    },
    open(key) {
      if (closed) return Promise.reject(new ConvosyncError('BAD_REQUEST', 'client is closed'));
      const parsed = parseDocKey(key);
      let pending = open.get(parsed.key);
      if (!pending) {
        device ??= store.deviceId();
        pending = device.then((id) =>
          Conversation.open(parsed.key, {
            serverUrl,
            token,
            identity,
            store,
            device: id,
            online,
            WebSocket: options.WebSocket,
            maxBackoffMs: options.maxBackoffMs ?? 10_000,
            now,
            ...(refreshToken ? { refreshToken } : {}),
            ...(options.presence ? { presence: options.presence } : {}),
          }),
        );
        open.set(parsed.key, pending);
        pending.catch(() => open.delete(parsed.key));
      }
      return pending;
    },
    inbox() {
      inbox ??= client.open(inboxKey(identity.id)).then((document) => new Inbox(document, now));
      inbox.catch(() => {
        inbox = undefined;
      });
      return inbox;
    },
    openPrivate(other) {
      return client.open(privateKey(identity.id, asIdentityId(other)));
    },
    async createGroup({ name, members, maxMemberCount }) {
      const key = groupKey();
      const conversation = await client.open(key);
      await conversation.act({
        kind: 'createGroup',
        id: newMessageKey(),
        createdAt: now(),
        groupKey: key,
        name,
        members: members.map((m) => ({
          identity: asIdentityId(m.identity),
          identityType: m.identityType,
        })),
        ...(maxMemberCount !== undefined ? { maxMemberCount } : {}),
      });
      return conversation;
    },
    goOffline() {
      online = false;
      each((c) => c.disconnect());
    },
    goOnline() {
      online = true;
      each((c) => c.connect());
    },
    setToken(next) {
      const nextIdentity = identityFromToken(next);
      if (nextIdentity.id !== identity.id)
        throw new ConvosyncError('BAD_REQUEST', 'a new token must be for the same identity');
      token = next;
      each((c) => c.setToken(next));
      scheduleRefresh();
    },
    presence(identities) {
      const base = options.url.replace(/^ws/, 'http').replace(/\/+$/, '');
      return lookupPresence(base, token, identities);
    },
    search(query, searchOptions) {
      if (closed) return Promise.reject(new ConvosyncError('BAD_REQUEST', 'client is closed'));
      const openDoc = async (key: ConversationKey) => {
        const pending = open.get(key);
        return pending?.then((c) => c.doc).catch(() => undefined);
      };
      return searchDevice({ store, identity: identity.id, openDoc }, query, searchOptions);
    },
    async close() {
      closed = true;
      clearTimeout(refreshTimer);
      const all = await Promise.allSettled(open.values());
      open.clear();
      for (const result of all) if (result.status === 'fulfilled') await result.value.close();
      await store.close();
    },
  };
  scheduleRefresh();
  return client;
}
