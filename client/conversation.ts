/**
 * @module One open conversation in the SDK: its local document and store, its outbox, its
 * connection, and the message list the app renders.
 */
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import {
  hasGenesis,
  isActiveMember,
  listMessages,
  type MessageView,
} from '../shared/conversation.js';
import { ConvosyncError } from '../shared/errors.js';
import { newMessageKey } from '../shared/ids.js';
import type { ConversationKey } from '../shared/keys.js';
import { composeMessage, type Draft } from '../shared/message.js';
import { conversationRoots } from '../shared/schema.js';
import { Emitter } from './events.js';
import { type Intent, Outbox } from './outbox.js';
import type { ClientStore } from './store/types.js';
import { type ConnectionStatus, connect, type Rejection } from './sync.js';
import type { TokenIdentity } from './token.js';

export type ConversationEvents = {
  /** The message list changed (new, stamped, recalled, or a pending one went out). */
  change: (messages: readonly MessageView[]) => void;
  status: (status: ConnectionStatus) => void;
  /** The server accepted this device's state and sent its own (after each (re)connect). */
  synced: () => void;
  /** Something failed; `intent` is set when it was one of the app's actions. */
  error: (error: ConvosyncError, detail: { intent?: Intent; rejection?: Rejection }) => void;
};

export interface ConversationContext {
  serverUrl: string;
  token: string;
  identity: TokenIdentity;
  store: ClientStore;
  online: boolean;
  WebSocket?: typeof globalThis.WebSocket;
  maxBackoffMs: number;
  now: () => number;
}

/** Origin of this SDK's own writes to the document. */
const LOCAL = Symbol('convosync-local');

export class Conversation extends Emitter<ConversationEvents> {
  readonly key: ConversationKey;
  readonly doc: Y.Doc;
  private readonly context: ConversationContext;
  private readonly outbox: Outbox;
  private readonly detach: () => Promise<void>;
  private provider: WebsocketProvider;
  private cached: MessageView[] | undefined;
  private changeScheduled = false;
  private statusValue: ConnectionStatus = 'disconnected';
  private syncedOnce: Promise<void>;
  private resolveSynced: () => void = () => {};

  private constructor(
    key: ConversationKey,
    doc: Y.Doc,
    context: ConversationContext,
    outbox: Outbox,
    detach: () => Promise<void>,
  ) {
    super();
    this.key = key;
    this.doc = doc;
    this.context = context;
    this.outbox = outbox;
    this.detach = detach;
    this.syncedOnce = new Promise((resolve) => {
      this.resolveSynced = resolve;
    });
    doc.on('update', this.onUpdate);
    this.provider = this.connect();
  }

  static async open(key: ConversationKey, context: ConversationContext): Promise<Conversation> {
    const doc = new Y.Doc();
    conversationRoots(doc);
    let failure: Error | undefined;
    let conversation: Conversation | undefined;
    const detach = await context.store.attach(key, doc, (error) => {
      failure = error;
      conversation?.emit(
        'error',
        new ConvosyncError('INTERNAL', `local store failed: ${error.message}`, { cause: error }),
        {},
      );
    });
    const outbox = await Outbox.load(context.store, key);
    await outbox.settle(doc);
    // An intent saved just before a crash may be missing from the stored document.
    outbox.replay(doc, LOCAL);
    conversation = new Conversation(key, doc, context, outbox, detach);
    if (failure) throw failure;
    return conversation;
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
    this.cached ??= listMessages(this.doc);
    return this.cached;
  }

  /** Intents the server has not confirmed yet (they go out on reconnect). */
  pendingIntents(): readonly Intent[] {
    return this.outbox.pending;
  }

  /**
   * Sends a message. Works offline: the message is stored with its intent and shows as pending
   * until the server stamps it. Throws INVALID_MESSAGE / NOT_MEMBER without writing anything.
   */
  async send(draft: Draft): Promise<MessageView> {
    const { identity, now } = this.context;
    // The local copy may not know the conversation yet (a private chat opened offline): the
    // server creates it, so only refuse when the local copy says we are not a member.
    if (hasGenesis(this.doc) && !isActiveMember(this.doc, identity.id)) {
      throw new ConvosyncError(
        'NOT_MEMBER',
        `${identity.id} is not an active member of ${this.key}`,
      );
    }
    const message = composeMessage(
      draft,
      { identity: identity.id, identityType: identity.type },
      newMessageKey(),
      now(),
    );
    const intent: Intent = { kind: 'send', id: message.key, createdAt: message.sentAt, message };
    await this.outbox.add(intent);
    this.outbox.apply(this.doc, intent, LOCAL);
    return { ...message, pending: true };
  }

  /** Stops syncing (the app goes offline); local writes keep working. */
  disconnect(): void {
    this.provider.disconnect();
  }

  /** Resumes syncing; pending intents go out with the sync handshake. */
  connect(): WebsocketProvider {
    if (this.provider) {
      this.provider.connect();
      return this.provider;
    }
    const { serverUrl, token, online, WebSocket, maxBackoffMs } = this.context;
    return connect({
      serverUrl,
      room: this.key,
      doc: this.doc,
      token,
      connect: online,
      WebSocket,
      maxBackoffMs,
      onStatus: (status) => {
        this.statusValue = status;
        this.emit('status', status);
      },
      onSynced: () => {
        this.resolveSynced();
        this.emit('synced');
      },
      onClosed: (error, rejection) => {
        const intent = rejection ? this.intentAt(rejection) : undefined;
        this.emit('error', error, {
          ...(intent ? { intent } : {}),
          ...(rejection ? { rejection } : {}),
        });
      },
    });
  }

  /** Updates the token used by the next (re)connection. */
  setToken(token: string): void {
    this.provider.params = { ...this.provider.params, token };
  }

  async close(): Promise<void> {
    this.provider.destroy();
    this.doc.off('update', this.onUpdate);
    await this.detach();
    this.clear();
    this.doc.destroy();
  }

  private intentAt(rejection: Rejection): Intent | undefined {
    return this.outbox.at(rejection.clientId, rejection.clock);
  }

  private readonly onUpdate = (_update: Uint8Array, origin: unknown) => {
    this.cached = undefined;
    if (origin !== LOCAL) {
      this.outbox.settle(this.doc).catch((error: Error) =>
        this.emit(
          'error',
          new ConvosyncError('INTERNAL', `saving the outbox failed: ${error.message}`, {
            cause: error,
          }),
          {},
        ),
      );
    }
    if (this.changeScheduled) return;
    this.changeScheduled = true;
    queueMicrotask(() => {
      this.changeScheduled = false;
      this.emit('change', this.messages());
    });
  };
}
