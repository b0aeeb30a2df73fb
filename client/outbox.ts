/**
 * @module The outbox of intents (DESIGN.md "The filter"): every user action is an idempotent
 * intent with a client-made id, stored before it touches the document and dropped only when a
 * server stamp confirms it. If the local document is lost or reset, replaying the outbox
 * re-creates every unconfirmed action exactly once (applying an intent twice is a no-op).
 */
import * as Y from 'yjs';
import type { MessageKey } from '../shared/ids.js';
import { conversationRoots, type Message } from '../shared/schema.js';
import type { ClientStore } from './store/types.js';

export type Intent = { kind: 'send'; id: MessageKey; createdAt: number; message: Message };

/** How an intent shows in a document. One entry per intent kind. */
const effects: {
  [K in Intent['kind']]: {
    applied(doc: Y.Doc, intent: Extract<Intent, { kind: K }>): boolean;
    confirmed(doc: Y.Doc, intent: Extract<Intent, { kind: K }>): boolean;
    apply(doc: Y.Doc, intent: Extract<Intent, { kind: K }>): void;
  };
} = {
  send: {
    applied: (doc, intent) => conversationRoots(doc).messages.has(intent.id),
    confirmed: (doc, intent) => conversationRoots(doc).stamps.has(intent.id),
    apply: (doc, intent) => conversationRoots(doc).messages.set(intent.id, intent.message),
  },
};

/** The clock range an intent's write produced, so a rejection (clientID, clock) names it. */
interface Written {
  clientId: number;
  start: number;
  end: number;
}

export class Outbox {
  private intents: Intent[];
  private saving: Promise<void> = Promise.resolve();
  private readonly written = new Map<string, Written>();

  private constructor(
    private readonly store: ClientStore,
    private readonly name: string,
    intents: Intent[],
  ) {
    this.intents = intents;
  }

  static async load(store: ClientStore, name: string): Promise<Outbox> {
    return new Outbox(store, name, await store.loadIntents(name));
  }

  /** Unconfirmed intents, oldest first. */
  get pending(): readonly Intent[] {
    return this.intents;
  }

  /** Records an intent durably. Call before applying it to the document. */
  add(intent: Intent): Promise<void> {
    this.intents = [...this.intents, intent];
    return this.save();
  }

  /** Applies `intent` to `doc` unless it is already there. */
  apply(doc: Y.Doc, intent: Intent, origin?: unknown): void {
    const effect = effects[intent.kind];
    if (effect.applied(doc, intent)) return;
    doc.transact(() => this.write(doc, intent), origin);
  }

  /** Re-applies every unconfirmed intent missing from `doc`, in the order they were made. */
  replay(doc: Y.Doc, origin?: unknown): number {
    let replayed = 0;
    doc.transact(() => {
      for (const intent of this.intents) {
        const effect = effects[intent.kind];
        if (effect.applied(doc, intent)) continue;
        this.write(doc, intent);
        replayed += 1;
      }
    }, origin);
    return replayed;
  }

  /** Drops the intents a server stamp in `doc` confirms; resolves once that is saved. */
  settle(doc: Y.Doc): Promise<void> {
    const left = this.intents.filter((intent) => !effects[intent.kind].confirmed(doc, intent));
    if (left.length === this.intents.length) return this.saving;
    this.intents = left;
    return this.save();
  }

  /** The intent whose write contains `clock` of `clientId` in this session, if any. */
  at(clientId: number, clock: number): Intent | undefined {
    for (const intent of this.intents) {
      const range = this.written.get(intent.id);
      if (range && range.clientId === clientId && clock >= range.start && clock < range.end)
        return intent;
    }
    return undefined;
  }

  /** Removes one intent (reported as failed to the app). */
  drop(id: string): Promise<void> {
    this.intents = this.intents.filter((intent) => intent.id !== id);
    return this.save();
  }

  private write(doc: Y.Doc, intent: Intent): void {
    const start = Y.getState(doc.store, doc.clientID);
    effects[intent.kind].apply(doc, intent);
    this.written.set(intent.id, {
      clientId: doc.clientID,
      start,
      end: Y.getState(doc.store, doc.clientID),
    });
  }

  private save(): Promise<void> {
    const snapshot = this.intents;
    // Serialised, so an older snapshot never overwrites a newer one.
    this.saving = this.saving
      .catch(() => undefined)
      .then(() => this.store.saveIntents(this.name, snapshot));
    return this.saving;
  }
}
