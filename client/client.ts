/**
 * @module createClient: the SDK's root object. It knows who the user is (from the token), where
 * the server is, and where the device keeps its data; it opens conversations.
 */
import { ConvosyncError } from '../shared/errors.js';
import { asIdentityId, type DeviceId, newMessageKey } from '../shared/ids.js';
import { type ConversationKey, groupKey, parseKey, privateKey } from '../shared/keys.js';
import { Conversation } from './conversation.js';
import { memoryStore } from './store/memory.js';
import type { ClientStore } from './store/types.js';
import { identityFromToken, type TokenIdentity } from './token.js';

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
}

export interface Client {
  readonly identity: TokenIdentity;
  /** Opens a conversation by key; the same object is returned while it stays open. */
  open(key: string): Promise<Conversation>;
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
  /** Closes every conversation and the store. */
  close(): Promise<void>;
}

export function createClient(options: ClientOptions): Client {
  const identity = identityFromToken(options.token);
  const store = options.storage ?? memoryStore();
  const serverUrl = `${options.url.replace(/^http/, 'ws').replace(/\/+$/, '')}/sync`;
  const open = new Map<ConversationKey, Promise<Conversation>>();
  let device: Promise<DeviceId> | undefined;
  let token = options.token;
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

  const client: Client = {
    identity,
    get online() {
      return online;
    },
    open(key) {
      if (closed) return Promise.reject(new ConvosyncError('BAD_REQUEST', 'client is closed'));
      const parsed = parseKey(key);
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
          }),
        );
        open.set(parsed.key, pending);
        pending.catch(() => open.delete(parsed.key));
      }
      return pending;
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
    },
    async close() {
      closed = true;
      const all = await Promise.allSettled(open.values());
      open.clear();
      for (const result of all) if (result.status === 'fulfilled') await result.value.close();
      await store.close();
    },
  };
  return client;
}
