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
import type * as Y from 'yjs';
import { lastSeq, listMessages, type MessageView } from '../shared/conversation.js';
import { ConversationType, type MemberRole } from '../shared/enums.js';
import { ConvosyncError } from '../shared/errors.js';
import { type DeviceId, type IdentityId, type MessageKey, newMessageKey } from '../shared/ids.js';
import { type DocName, parseDocKey } from '../shared/keys.js';
import { composeMessage, type Draft, forwardDraft } from '../shared/message.js';
import { retryInMs } from '../shared/retry.js';
import { readPosition } from '../shared/rules/read.js';
import {
  type ConversationSettings,
  conversationRoots,
  type Profile,
  readKey,
} from '../shared/schema.js';
import { Emitter } from './events.js';
import type { Intent } from './intents.js';
import { localDoc } from './local-doc.js';
import { type ApplyContext, Outbox, type Outcome } from './outbox.js';
import { Presence, type PresenceOptions } from './presence.js';
import { type ReadBy, type ReceiptStatus, readBy, receiptStatus } from './receipts.js';
import type { ClientStore } from './store/types.js';
import { type ConnectionStatus, connect, type Rejection } from './sync.js';
import type { TokenIdentity } from './token.js';

export type ConversationEvents = {
  /** The message list changed (new, stamped, recalled, or a pending one went out). */
  change: (messages: readonly MessageView[]) => void;
  /**
   * The document changed, like `change` but without the list: building the sorted list costs
   * O(messages), so a UI that renders once per frame listens here and reads `messages()` then.
   */
  update: () => void;
  status: (status: ConnectionStatus) => void;
  /** The server accepted this device's state and sent its own (after each (re)connect). */
  synced: () => void;
  /**
   * An intent left the outbox, exactly once: accepted by the server, refused (with the reason;
   * also reported as an `error`), or superseded (its effect already held when it was replayed).
   */
  intent: (intent: Intent, outcome: Outcome) => void;
  /**
   * Something failed; `intent` is set when it was one of the app's actions (it was dropped).
   * RATE_LIMITED drops nothing: `retryInMs` says when the SDK reconnects and sends again.
   */
  error: (
    error: ConvosyncError,
    detail: { intent?: Intent; rejection?: Rejection; retryInMs?: number },
  ) => void;
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
  presence?: PresenceOptions;
  /**
   * A new token after the server closed for an expired or refused one (the client's `getToken`,
   * shared by every conversation); undefined when the app gave none.
   */
  refreshToken?: () => Promise<string>;
}

/** Origin of this SDK's own writes to the document. */
const LOCAL = Symbol('convosync-local');
/** Delivery receipts are batched: one write per burst of received messages. */
const DELIVERED_DELAY_MS = 300;
/** Resets in a row without any intent being identified and dropped, before giving up. */
const MAX_BLIND_RESETS = 3;
/** Resets one intent may cause by losing a race (and be replayed) before it is refused. */
const MAX_REPLAYS = 5;

export class Conversation extends Emitter<ConversationEvents> {
  readonly key: DocName;
  /** Who is online and typing here; `presence.setTyping(true)` on keystrokes. */
  readonly presence: Presence;
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
  /** Per intent id, how many resets it caused without being refused (races, dependencies). */
  private readonly replays = new Map<string, number>();
  /** Outcomes settled while `open` runs, reported right after it resolves. */
  private opening: Array<[Intent, Outcome]> | undefined = [];
  private rebuilding = false;
  private deliveredTimer: ReturnType<typeof setTimeout> | undefined;
  private resetting: Promise<void> | undefined;
  private replayOnSync = false;
  private closed = false;
  /** Set while waiting out a RATE_LIMITED close (or another retry after a close). */
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the app wants this conversation connected (connect/disconnect). */
  private wanted: boolean;
  /** The server closed for the token: a new one (setToken) reconnects. */
  private awaitingToken = false;
  /** Why the server refused this identity here for good (until the app reconnects). */
  private refusal: ConvosyncError | undefined;

  private constructor(
    key: DocName,
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
    this.wanted = context.online;
    doc.on('update', this.onUpdate);
    outbox.onSettled = (intent, outcome) => {
      this.replays.delete(intent.id);
      // While opening, nobody listens yet: outcomes wait until just after `open` resolves.
      if (this.opening) this.opening.push([intent, outcome]);
      else this.report(intent, outcome);
    };
    this.presence = new Presence(context.identity, context.device, context.presence);
    this.provider = this.newProvider(context.online);
    this.presence.attach(this.provider.awareness);
  }

  static async open(key: DocName, context: ConversationContext): Promise<Conversation> {
    const doc = localDoc();
    let conversation: Conversation | undefined;
    const detach = await context.store.attach(key, doc, (error) =>
      conversation?.storeFailed(error),
    );
    const outbox = await Outbox.load(context.store, key);
    conversation = new Conversation(key, doc, context, outbox, detach);
    await outbox.settle(doc);
    // An intent saved just before a crash may be missing from the stored document.
    await conversation.replay();
    const opened = conversation;
    const settled = opened.opening ?? [];
    opened.opening = undefined;
    if (settled.length > 0)
      setTimeout(() => {
        for (const [intent, outcome] of settled) opened.report(intent, outcome);
      }, 0);
    return conversation;
  }

  /**
   * Why the server refused this identity here for good (NOT_MEMBER, CONVERSATION_NOT_FOUND…),
   * or undefined. Also emitted as 'error'; kept here so a view opened after the refusal (a page
   * reload races the server's answer) shows it too.
   */
  get refused(): ConvosyncError | undefined {
    return this.refusal;
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
    this.cached ??= listMessages(this.current, this.context.identity.id);
    return this.cached;
  }

  /** Intents the server has not confirmed yet (they go out on reconnect). */
  pendingIntents(): readonly Intent[] {
    return this.outbox.pending;
  }

  /** A message's delivery status as its sender sees it: pending, sent, delivered, read. */
  receipt(message: MessageView): ReceiptStatus {
    return receiptStatus(this.current, message);
  }

  /** The members who have read a group message (listed up to `cap`, counted past it). */
  readBy(message: MessageView, cap?: number): ReadBy {
    return readBy(this.current, message, cap);
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
    this.presence.setTyping(false);
    await this.act({ kind: 'send', id: message.key, createdAt: message.sentAt, message });
    return { ...message, pending: true };
  }

  /**
   * Forwards messages of `from` (another open conversation) here, one new message each, keeping
   * their origin (`forwardedFrom`); works offline. The server checks the sender may read them.
   */
  async forward(from: Conversation, keys: readonly MessageKey[]): Promise<MessageView[]> {
    const source = parseDocKey(from.key);
    if (source.type === 'inbox') throw new ConvosyncError('BAD_REQUEST', 'not a conversation');
    const sent: MessageView[] = [];
    for (const key of keys) {
      const original = conversationRoots(from.doc).messages.get(key);
      if (!original) throw new ConvosyncError('FORWARD_NOT_FOUND', `no message ${key}`);
      sent.push(await this.send(forwardDraft(original, source.key)));
    }
    return sent;
  }

  /** The message `message` replies to, as this identity sees it (undefined if not visible). */
  quoted(message: Pick<MessageView, 'replyTo'>): MessageView | undefined {
    if (!message.replyTo) return undefined;
    return this.messages().find((m) => m.key === message.replyTo);
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

  /** Mutes a member (owner/admin, over lower ranks) until `until` (ms), or unmutes with null. */
  mute(identity: IdentityId, until: number | null): Promise<void> {
    return this.act({
      kind: 'mute',
      id: newMessageKey(),
      createdAt: this.context.now(),
      identity,
      until,
    });
  }

  /** Lets only owner and admins post (`true`), or everyone again (`false`). */
  muteAll(on: boolean): Promise<void> {
    return this.updateSettings({ muteAll: on });
  }

  /** This identity's own nickname, avatar or notification mute in this conversation. */
  setProfile(profile: Profile): Promise<void> {
    return this.act({
      kind: 'profile',
      id: newMessageKey(),
      createdAt: this.context.now(),
      profile,
    });
  }

  dissolve(): Promise<void> {
    return this.act({ kind: 'dissolve', id: newMessageKey(), createdAt: this.context.now() });
  }

  /** Records and applies an intent; used by `createGroup` and every action above. */
  async act(intent: Intent): Promise<void> {
    if (this.closed) throw new ConvosyncError('BAD_REQUEST', 'conversation is closed');
    // Queued here, it could never be sent: say so now rather than leave it pending.
    if (this.refusal) throw this.refusal;
    await this.resetting;
    // After a reset the document is rebuilt empty, and the queued intents are replayed once the
    // server's state arrives. Written now, this intent would land ahead of them (a rename ahead
    // of the group's own creation, whose replayed genesis the rules then refuse): write the queue
    // first, in order, as after an app restart; the resync still re-derives what it must.
    if (this.replayOnSync) await this.replay();
    await this.outbox.submit(this.current, intent, this.applyContext(), LOCAL);
  }

  /** Stops syncing (the app goes offline); local writes keep working. */
  disconnect(): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.provider.disconnect();
  }

  /** Resumes syncing; pending intents go out with the sync handshake. */
  connect(): void {
    this.wanted = true;
    this.refusal = undefined;
    // During a rebuild the old provider is gone; the new one connects as `wanted` says.
    if (!this.rebuilding) this.provider.connect();
  }

  /**
   * Uses `token` from now on: reconnects with it if the old one was refused, and moves an open
   * connection over to it (the server would close that one when the old token expires; the sync
   * handshake resends whatever was in flight).
   */
  setToken(token: string): void {
    this.context.token = token;
    this.provider.params = { ...this.provider.params, token };
    const refused = this.awaitingToken;
    this.awaitingToken = false;
    if (!this.wanted || this.closed) return;
    if (refused) this.provider.connect();
    else if (this.provider.wsconnected) {
      this.provider.disconnect();
      this.provider.connect();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.deliveredTimer);
    await this.resetting;
    this.provider.destroy();
    this.presence.destroy();
    this.current.off('update', this.onUpdate);
    await this.detach();
    this.clear();
    this.current.destroy();
  }

  private applyContext(): ApplyContext {
    return {
      parsed: parseDocKey(this.key),
      author: this.context.identity,
      now: this.context.now(),
    };
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
        this.presence.setConnected(status === 'connected');
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
        // The server took this device's writes: whatever reset came before was not a loop.
        this.blindResets = 0;
        for (const [client, clock] of states)
          this.acked.set(client, Math.max(clock, this.acked.get(client) ?? 0));
        void this.outbox
          .settle(this.current, this.acked)
          .catch((error: Error) => this.storeFailed(error));
      },
      onClosed: (error, rejection) => this.closedBy(error, rejection),
    });
  }

  /**
   * The server closed for good (a 44xx code; y-websocket stops reconnecting). Every close leads
   * somewhere, so no intent stays pending forever:
   * - too fast (RATE_LIMITED, TOO_MANY_PENDING, TOO_MANY_CONNECTIONS): reconnect later;
   * - the token (TOKEN_EXPIRED, UNAUTHORIZED): get a new one (`getToken`) and reconnect, or wait
   *   for `setToken`;
   * - a rejected update, or refused presence (a clientID clash): reset and replay;
   * - anything else means this identity cannot write here (not a member, no such conversation):
   *   the pending intents are reported as failed and dropped.
   */
  private closedBy(error: ConvosyncError, rejection: Rejection | undefined): void {
    if (this.closed) return;
    switch (error.code) {
      case 'RATE_LIMITED':
      case 'TOO_MANY_PENDING':
      case 'TOO_MANY_CONNECTIONS':
        this.retryLater(error, rejection);
        return;
      case 'TOKEN_EXPIRED':
      case 'UNAUTHORIZED':
        // Only the app can help when it gave no getToken: tell it.
        if (!this.context.refreshToken) this.emit('error', error, {});
        void this.reauthorize();
        return;
      case 'NOT_MEMBER':
      case 'CONVERSATION_NOT_FOUND':
      case 'INVALID_KEY':
      case 'FORBIDDEN_SERVICE_ONLY':
        this.refusal = error;
        this.emit('error', error, rejection ? { rejection } : {});
        this.resetting = this.failPending(error).catch((e: Error) => this.storeFailed(e));
        return;
      default:
        this.resetting = this.reset(error, rejection);
    }
  }

  /** Gets a new token from the app and reconnects; without `getToken`, waits for `setToken`. */
  private async reauthorize(): Promise<void> {
    this.awaitingToken = true;
    const refresh = this.context.refreshToken;
    if (!refresh) return;
    try {
      // The client applies it to every conversation (setToken), which reconnects this one.
      await refresh();
    } catch (cause) {
      if (this.closed) return;
      this.emit(
        'error',
        new ConvosyncError('UNAUTHORIZED', 'getToken failed; retrying', { cause }),
        {},
      );
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.reauthorize(), this.context.maxBackoffMs);
    }
  }

  /** Reports every pending intent as failed with `error` and drops it (it cannot succeed). */
  /**
   * Access is lost (removed, left from another device, never a member) or the SDK gives up:
   * every queued intent is reported as refused with `error`, never left pending. Their writes
   * are in the local document, so it is discarded (like after a rejection) when `discard`:
   * they must never go out should access come back; a document with nothing queued keeps the
   * history it had.
   */
  private async failPending(error: ConvosyncError, discard = true): Promise<void> {
    if (this.outbox.pending.length === 0) return;
    await this.outbox.refuseAll(error);
    if (discard) await this.rebuild();
  }

  /**
   * Rate limited: the server applied nothing and its rules found nothing wrong, so the document
   * and the outbox stay as they are, and reconnecting after the advised delay sends every
   * unconfirmed change again, in the sync handshake (a little jitter spreads the reconnects).
   */
  private retryLater(error: ConvosyncError, rejection: Rejection | undefined): void {
    const wait = retryInMs(error) ?? this.context.maxBackoffMs;
    this.emit('error', error, { ...(rejection ? { rejection } : {}), retryInMs: wait });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        if (!this.closed && this.wanted) this.provider.connect();
      },
      wait + Math.random() * Math.min(wait, 1000) * 0.1,
    );
  }

  /** Reports the rejected intent, discards the local document, and resyncs from the server. */
  private async reset(error: ConvosyncError, rejection: Rejection | undefined): Promise<void> {
    const failed = rejection && this.outbox.at(rejection.clientId, rejection.clock);
    // Lost a race (CONCURRENT_CHANGE), or went out before the offline changes it builds on
    // (y-websocket sends a write made right after reconnecting as a plain update, ahead of the
    // sync step that carries them: MISSING_DEPENDENCIES). Neither is a rule: the replay
    // re-derives the intent from the server's state, a few times at most.
    const retry =
      failed !== undefined &&
      (error.code === 'CONCURRENT_CHANGE' || error.code === 'MISSING_DEPENDENCIES') &&
      (this.replays.get(failed.id) ?? 0) < MAX_REPLAYS;
    if (failed) {
      this.blindResets = 0;
      if (retry) this.replays.set(failed.id, (this.replays.get(failed.id) ?? 0) + 1);
      else await this.outbox.refuse(failed, error);
    } else {
      this.blindResets += 1;
      this.emit('error', error, rejection ? { rejection } : {});
    }
    if (this.blindResets > MAX_BLIND_RESETS) {
      const giveUp = new ConvosyncError(
        'INTERNAL',
        `rejected repeatedly without a known cause (${error.code}); staying offline`,
      );
      this.emit('error', giveUp, {});
      await this.failPending(giveUp, false);
      return;
    }
    await this.rebuild();
  }

  /**
   * Discards the local document and its store, so writes the server refused never go out, and
   * syncs a new one (a new clientID: the old one is dead on the server) unless the app went
   * offline or access is lost.
   */
  private async rebuild(): Promise<void> {
    this.rebuilding = true;
    this.provider.destroy();
    this.current.off('update', this.onUpdate);
    await this.detach();
    this.current.destroy();
    await this.context.store.clear(this.key);
    const doc = localDoc();
    this.current = doc;
    this.acked.clear();
    this.detach = await this.context.store.attach(this.key, doc, (e) => this.storeFailed(e));
    doc.on('update', this.onUpdate);
    this.cached = undefined;
    this.emit('reset');
    this.replayOnSync = true;
    this.provider = this.newProvider(this.wanted && !this.refusal);
    this.presence.attach(this.provider.awareness);
    this.rebuilding = false;
  }

  /** After the resync: confirm what the server already has, replay the rest. */
  private async afterReset(): Promise<void> {
    // The server's state vector arrived first, in its sync step 1 (`onAccepted`).
    await this.outbox.settle(this.current, this.acked);
    await this.replay();
    this.resolveSynced();
    this.emit('synced');
  }

  private replay(): Promise<void> {
    return this.outbox.replay(this.current, this.applyContext(), LOCAL);
  }

  private report(intent: Intent, outcome: Outcome): void {
    this.emit('intent', intent, outcome);
    if (outcome.status === 'refused') this.emit('error', outcome.error, { intent });
  }

  private storeFailed(error: Error): void {
    this.emit(
      'error',
      new ConvosyncError('INTERNAL', `local store failed: ${error.message}`, { cause: error }),
      {},
    );
  }

  /**
   * In a private chat, tells the sender this device received its messages (one write per burst,
   * not per message). Groups skip it: it would be a write per member per message.
   */
  private scheduleDelivered(): void {
    if (this.deliveredTimer || this.closed) return;
    if (parseDocKey(this.key).type !== ConversationType.Private) return;
    this.deliveredTimer = setTimeout(() => {
      this.deliveredTimer = undefined;
      if (this.closed) return;
      const { delivered } = conversationRoots(this.current);
      const seq = lastSeq(this.current);
      const key = readKey(this.context.identity.id, this.context.device);
      if (seq <= (delivered.get(key) ?? 0)) return;
      void this.act({
        kind: 'delivered',
        id: newMessageKey(),
        createdAt: this.context.now(),
        device: this.context.device,
        seq,
      }).catch(() => undefined); // the next burst tries again
    }, DELIVERED_DELAY_MS);
  }

  private readonly onUpdate = (_update: Uint8Array, origin: unknown) => {
    this.cached = undefined;
    if (origin !== LOCAL) {
      this.scheduleDelivered();
      this.outbox.settle(this.current, this.acked).catch((error: Error) => this.storeFailed(error));
    }
    if (this.changeScheduled) return;
    this.changeScheduled = true;
    queueMicrotask(() => {
      this.changeScheduled = false;
      this.emit('update');
      // Sorting every message costs O(n) per change: only for someone who takes the list.
      if (this.has('change')) this.emit('change', this.messages());
    });
  };
}
