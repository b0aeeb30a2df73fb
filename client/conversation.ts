/**
 * @module One open conversation in the SDK: its local document and store, its outbox, its
 * connection, the message list the app renders, and the actions the app takes (each one an
 * intent: checked by the shared rules, stored, applied, confirmed by the server).
 *
 * When the server rejects an update, this conversation recovers by itself (DESIGN.md "The
 * filter"): it reports the intent that failed, discards the local document and its local store
 * (Yjs has no rollback, and the rejected structs would be re-sent forever), resyncs into a new
 * document with a new clientID, and replays every intent the server has not confirmed.
 */
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { lastSeq, listMessages, type MessageView } from '../shared/conversation.js';
import type { MemberRole } from '../shared/enums.js';
import { ConvosyncError } from '../shared/errors.js';
import { type DeviceId, type IdentityId, type MessageKey, newMessageKey } from '../shared/ids.js';
import { type ConversationKey, parseKey } from '../shared/keys.js';
import { composeMessage, type Draft } from '../shared/message.js';
import { readPosition } from '../shared/rules/read.js';
import { type ConversationSettings, conversationRoots } from '../shared/schema.js';
import { Emitter } from './events.js';
import type { Intent } from './intents.js';
import { type ApplyContext, Outbox } from './outbox.js';
import type { ClientStore } from './store/types.js';
import { type ConnectionStatus, connect, type Rejection } from './sync.js';
import type { TokenIdentity } from './token.js';

export type ConversationEvents = {
  /** The message list changed (new, stamped, recalled, or a pending one went out). */
  change: (messages: readonly MessageView[]) => void;
  status: (status: ConnectionStatus) => void;
  /** The server accepted this device's state and sent its own (after each (re)connect). */
  synced: () => void;
  /** Something failed; `intent` is set when it was one of the app's actions (it was dropped). */
  error: (error: ConvosyncError, detail: { intent?: Intent; rejection?: Rejection }) => void;
  /** The local document was discarded after a rejection and is being rebuilt from the server. */
  reset: () => void;
};

export interface ConversationContext {
  serverUrl: string;
  token: string;
  identity: TokenIdentity;
  store: ClientStore;
  device: DeviceId;
  online: boolean;
  WebSocket?: typeof globalThis.WebSocket;
  maxBackoffMs: number;
  now: () => number;
}

/** Origin of this SDK's own writes to the document. */
const LOCAL = Symbol('convosync-local');
/** Resets in a row without any intent being identified and dropped, before giving up. */
const MAX_BLIND_RESETS = 3;

export class Conversation extends Emitter<ConversationEvents> {
  readonly key: ConversationKey;
  private readonly context: ConversationContext;
  private readonly outbox: Outbox;
  private current: Y.Doc;
  private detach: () => Promise<void>;
  private provider: WebsocketProvider;
  private cached: MessageView[] | undefined;
  private changeScheduled = false;
  private statusValue: ConnectionStatus = 'disconnected';
  private readonly syncedOnce: Promise<void>;
  private resolveSynced: () => void = () => {};
  private readonly acked = new Map<number, number>();
  private blindResets = 0;
  private resetting: Promise<void> | undefined;
  private replayOnSync = false;
  private closed = false;

  private constructor(
    key: ConversationKey,
    doc: Y.Doc,
    context: ConversationContext,
    outbox: Outbox,
    detach: () => Promise<void>,
  ) {
    super();
    this.key = key;
    this.current = doc;
    this.context = context;
    this.outbox = outbox;
    this.detach = detach;
    this.syncedOnce = new Promise((resolve) => {
      this.resolveSynced = resolve;
    });
    doc.on('update', this.onUpdate);
    this.provider = this.newProvider(context.online);
  }

  static async open(key: ConversationKey, context: ConversationContext): Promise<Conversation> {
    const doc = new Y.Doc();
    conversationRoots(doc);
    let conversation: Conversation | undefined;
    const detach = await context.store.attach(key, doc, (error) =>
      conversation?.storeFailed(error),
    );
    const outbox = await Outbox.load(context.store, key);
    conversation = new Conversation(key, doc, context, outbox, detach);
    await outbox.settle(doc, context.identity);
    // An intent saved just before a crash may be missing from the stored document.
    await conversation.replay();
    return conversation;
  }

  /** The local Yjs document (replaced by a new one after a reset). */
  get doc(): Y.Doc {
    return this.current;
  }

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  /** Resolves after the first successful sync with the server. */
  whenSynced(): Promise<void> {
    return this.syncedOnce;
  }

  /** Messages ordered by server seq; not-yet-accepted ones last, with `pending: true`. */
  messages(): readonly MessageView[] {
    this.cached ??= listMessages(this.current);
    return this.cached;
  }

  /** Intents the server has not confirmed yet (they go out on reconnect). */
  pendingIntents(): readonly Intent[] {
    return this.outbox.pending;
  }

  /** How far `identity` has read (the highest seq any of its devices marked read). */
  readPosition(identity: IdentityId = this.context.identity.id): number {
    return readPosition(conversationRoots(this.current).reads.entries(), identity);
  }

  /**
   * Sends a message. Works offline: the message is stored with its intent and shows as pending
   * until the server stamps it. Throws (writing nothing) when the rules refuse it.
   */
  async send(draft: Draft): Promise<MessageView> {
    const { identity, now } = this.context;
    const message = composeMessage(
      draft,
      { identity: identity.id, identityType: identity.type },
      newMessageKey(),
      now(),
    );
    await this.act({ kind: 'send', id: message.key, createdAt: message.sentAt, message });
    return { ...message, pending: true };
  }

  /** Recalls a message (the sender within 2 minutes of acceptance; group owner/admin above it). */
  recall(target: MessageKey): Promise<void> {
    return this.act({ kind: 'recall', id: newMessageKey(), createdAt: this.context.now(), target });
  }

  /** Marks everything up to `seq` (default: the last accepted message) read on this device. */
  markRead(seq: number = lastSeq(this.current)): Promise<void> {
    return this.act({
      kind: 'read',
      id: newMessageKey(),
      createdAt: this.context.now(),
      device: this.context.device,
      seq,
    });
  }

  invite(
    identity: IdentityId,
    identityType: number,
    role?: typeof MemberRole.Member | typeof MemberRole.Admin,
  ): Promise<void> {
    return this.act({
      kind: 'invite',
      id: newMessageKey(),
      createdAt: this.context.now(),
      identity,
      identityType,
      ...(role ? { role } : {}),
    });
  }

  remove(identity: IdentityId): Promise<void> {
    return this.act({
      kind: 'remove',
      id: newMessageKey(),
      createdAt: this.context.now(),
      identity,
    });
  }

  exit(): Promise<void> {
    return this.act({ kind: 'exit', id: newMessageKey(), createdAt: this.context.now() });
  }

  setRole(
    identity: IdentityId,
    role: typeof MemberRole.Member | typeof MemberRole.Admin,
  ): Promise<void> {
    return this.act({
      kind: 'setRole',
      id: newMessageKey(),
      createdAt: this.context.now(),
      identity,
      role,
    });
  }

  transferOwnership(to: IdentityId): Promise<void> {
    return this.act({ kind: 'transfer', id: newMessageKey(), createdAt: this.context.now(), to });
  }

  updateInfo(info: { name?: string; avatar?: string; announcement?: string }): Promise<void> {
    return this.act({
      kind: 'updateInfo',
      id: newMessageKey(),
      createdAt: this.context.now(),
      ...info,
    });
  }

  updateSettings(settings: Partial<ConversationSettings>): Promise<void> {
    return this.act({
      kind: 'updateSettings',
      id: newMessageKey(),
      createdAt: this.context.now(),
      settings,
    });
  }

  dissolve(): Promise<void> {
    return this.act({ kind: 'dissolve', id: newMessageKey(), createdAt: this.context.now() });
  }

  /** Records and applies an intent; used by `createGroup` and every action above. */
  async act(intent: Intent): Promise<void> {
    if (this.closed) throw new ConvosyncError('BAD_REQUEST', 'conversation is closed');
    await this.resetting;
    await this.outbox.submit(this.current, intent, this.applyContext(), LOCAL);
  }

  /** Stops syncing (the app goes offline); local writes keep working. */
  disconnect(): void {
    this.provider.disconnect();
  }

  /** Resumes syncing; pending intents go out with the sync handshake. */
  connect(): void {
    this.provider.connect();
  }

  /** Updates the token used by the next (re)connection. */
  setToken(token: string): void {
    this.context.token = token;
    this.provider.params = { ...this.provider.params, token };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.resetting;
    this.provider.destroy();
    this.current.off('update', this.onUpdate);
    await this.detach();
    this.clear();
    this.current.destroy();
  }

  private applyContext(): ApplyContext {
    return { parsed: parseKey(this.key), author: this.context.identity, now: this.context.now() };
  }

  private newProvider(online: boolean): WebsocketProvider {
    const { serverUrl, token, WebSocket, maxBackoffMs } = this.context;
    return connect({
      serverUrl,
      room: this.key,
      doc: this.current,
      token,
      connect: online,
      WebSocket,
      maxBackoffMs,
      onStatus: (status) => {
        this.statusValue = status;
        this.emit('status', status);
      },
      onSynced: () => {
        if (this.replayOnSync) {
          this.replayOnSync = false;
          void this.afterReset();
          return;
        }
        this.resolveSynced();
        this.emit('synced');
      },
      onAccepted: (states) => {
        for (const [client, clock] of states)
          this.acked.set(client, Math.max(clock, this.acked.get(client) ?? 0));
        void this.outbox
          .settle(this.current, this.context.identity, this.acked)
          .catch((error: Error) => this.storeFailed(error));
      },
      onClosed: (error, rejection) => {
        if (rejection && error.code !== 'NOT_MEMBER') {
          this.resetting = this.reset(error, rejection);
          return;
        }
        this.emit('error', error, rejection ? { rejection } : {});
      },
    });
  }

  /** Reports the rejected intent, discards the local document, and resyncs from the server. */
  private async reset(error: ConvosyncError, rejection: Rejection): Promise<void> {
    const failed = this.outbox.at(rejection.clientId, rejection.clock);
    if (failed) {
      this.blindResets = 0;
      await this.outbox.drop(failed.id);
    } else {
      this.blindResets += 1;
    }
    this.emit('error', error, { ...(failed ? { intent: failed } : {}), rejection });
    if (this.blindResets > MAX_BLIND_RESETS) {
      this.emit(
        'error',
        new ConvosyncError(
          'INTERNAL',
          'rejected repeatedly without a known cause; staying offline',
        ),
        {},
      );
      return;
    }
    this.provider.destroy();
    this.current.off('update', this.onUpdate);
    await this.detach();
    this.current.destroy();
    await this.context.store.clear(this.key);
    const doc = new Y.Doc(); // a new clientID: the old one is dead on the server
    conversationRoots(doc);
    this.current = doc;
    this.acked.clear();
    this.detach = await this.context.store.attach(this.key, doc, (e) => this.storeFailed(e));
    doc.on('update', this.onUpdate);
    this.cached = undefined;
    this.emit('reset');
    this.replayOnSync = true;
    this.provider = this.newProvider(true);
  }

  /** After the resync: confirm what the server already has, replay the rest. */
  private async afterReset(): Promise<void> {
    await this.outbox.settle(this.current, this.context.identity, undefined, true);
    await this.replay();
    this.resolveSynced();
    this.emit('synced');
  }

  private async replay(): Promise<void> {
    const failed = await this.outbox.replay(this.current, this.applyContext(), LOCAL);
    for (const { intent, error } of failed) this.emit('error', error, { intent });
  }

  private storeFailed(error: Error): void {
    this.emit(
      'error',
      new ConvosyncError('INTERNAL', `local store failed: ${error.message}`, { cause: error }),
      {},
    );
  }

  private readonly onUpdate = (_update: Uint8Array, origin: unknown) => {
    this.cached = undefined;
    if (origin !== LOCAL) {
      this.outbox
        .settle(this.current, this.context.identity, this.acked)
        .catch((error: Error) => this.storeFailed(error));
    }
    if (this.changeScheduled) return;
    this.changeScheduled = true;
    queueMicrotask(() => {
      this.changeScheduled = false;
      this.emit('change', this.messages());
    });
  };
}
