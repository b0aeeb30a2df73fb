/**
 * @module The outbox of intents (DESIGN.md "The filter"): every user action is an idempotent
 * intent with a client-made id, stored before it touches the document, checked by the same rules
 * the server runs, and dropped only when the server confirms it: by a stamp (messages, recalls),
 * by an `accepted` message covering the clock range it wrote, or by being part of the server's
 * state after a resync. If the local document is reset, replaying the outbox re-creates every
 * unconfirmed action exactly once, each judged again against the server's current state.
 */
import * as Y from 'yjs';
import { hasGenesis, lastSeq } from '../shared/conversation.js';
import type { ConvosyncError } from '../shared/errors.js';
import type { ParsedDoc } from '../shared/keys.js';
import type { Author } from '../shared/rules/access.js';
import { byRoot } from '../shared/rules/context.js';
import { checkWrites } from '../shared/rules/writes.js';
import { conversationRoots } from '../shared/schema.js';
import { type Intent, intentApplied, intentWrites } from './intents.js';
import type { ClientStore } from './store/types.js';

export type { Intent } from './intents.js';

/** The clock range an intent's write produced, so a rejection or an ack names it. */
interface Written {
  clientId: number;
  start: number;
  end: number;
}

type Stored = Intent & { written?: Written };

export interface ApplyContext {
  parsed: ParsedDoc;
  author: Author;
  now: number;
}

export class Outbox {
  private intents: Stored[];
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: ClientStore,
    private readonly name: string,
    intents: Stored[],
  ) {
    this.intents = intents;
  }

  static async load(store: ClientStore, name: string): Promise<Outbox> {
    return new Outbox(store, name, (await store.loadIntents(name)) as Stored[]);
  }

  /** Unconfirmed intents, oldest first. */
  get pending(): readonly Intent[] {
    return this.intents;
  }

  /**
   * Judges `intent` against `doc` with the shared rules; throws the violation, or returns the
   * writes it would make. Documents the server has not created yet (a private chat opened
   * offline) are judged by the server alone.
   */
  check(doc: Y.Doc, intent: Intent, ctx: ApplyContext): ReturnType<typeof intentWrites> {
    const writes = intentWrites(doc, intent, ctx.author, ctx.now);
    if (!hasGenesis(doc) && intent.kind !== 'createGroup') return writes;
    const rejected = checkWrites({
      doc,
      parsed: ctx.parsed,
      author: ctx.author,
      now: ctx.now,
      // Scanning every stamp costs O(messages); only read positions need it, so only then.
      get lastSeq() {
        return lastSeq(doc);
      },
      writes: byRoot(writes),
    });
    if (rejected) throw rejected.error;
    return writes;
  }

  /** Checks, records durably, then applies a new intent. Throws (writing nothing) if refused. */
  async submit(doc: Y.Doc, intent: Intent, ctx: ApplyContext, origin: unknown): Promise<void> {
    const writes = this.check(doc, intent, ctx);
    this.intents = [...this.intents, intent];
    await this.save();
    this.write(doc, intent, writes, origin);
  }

  /**
   * Re-applies, in order, every unconfirmed intent whose effect `doc` lacks. Intents the rules
   * now refuse are dropped and returned as failed; the rest are applied.
   */
  async replay(
    doc: Y.Doc,
    ctx: ApplyContext,
    origin: unknown,
  ): Promise<Array<{ intent: Intent; error: ConvosyncError }>> {
    const failed: Array<{ intent: Intent; error: ConvosyncError }> = [];
    for (const intent of this.intents) {
      if (intentApplied(doc, intent, ctx.author)) continue;
      try {
        this.write(doc, intent, this.check(doc, intent, ctx), origin);
      } catch (error) {
        failed.push({ intent, error: error as ConvosyncError });
      }
    }
    if (failed.length > 0) {
      const ids = new Set(failed.map((f) => f.intent.id));
      this.intents = this.intents.filter((i) => !ids.has(i.id));
    }
    await this.save();
    return failed;
  }

  /**
   * Drops what the server confirmed: stamps in `doc`, clock ranges in `acked`, and, when `doc`
   * was just rebuilt from the server (`fresh`), every intent whose effect it already holds.
   */
  settle(
    doc: Y.Doc,
    author: Author,
    acked?: ReadonlyMap<number, number>,
    fresh = false,
  ): Promise<void> {
    const { stamps } = conversationRoots(doc);
    const left = this.intents.filter((intent) => {
      if (intent.kind === 'send' && stamps.has(intent.id)) return false;
      if (intent.kind === 'recall' && stamps.get(intent.target)?.recalledAt !== undefined)
        return false;
      const w = intent.written;
      if (w && acked && (acked.get(w.clientId) ?? 0) >= w.end) return false;
      if (fresh && intentApplied(doc, intent, author)) return false;
      return true;
    });
    if (left.length === this.intents.length) return this.saving;
    this.intents = left;
    return this.save();
  }

  /** The intent whose write contains `clock` of `clientId`, if any. */
  at(clientId: number, clock: number): Intent | undefined {
    return this.intents.find(
      (i) =>
        i.written &&
        i.written.clientId === clientId &&
        clock >= i.written.start &&
        clock < i.written.end,
    );
  }

  /** Removes one intent (reported as failed to the app). */
  drop(id: string): Promise<void> {
    this.intents = this.intents.filter((intent) => intent.id !== id);
    return this.save();
  }

  private write(
    doc: Y.Doc,
    intent: Stored,
    writes: ReturnType<typeof intentWrites>,
    origin: unknown,
  ): void {
    const start = Y.getState(doc.store, doc.clientID);
    doc.transact(() => {
      for (const w of writes) doc.getMap(w.root).set(w.key, w.value);
    }, origin);
    const end = Y.getState(doc.store, doc.clientID);
    if (end > start) intent.written = { clientId: doc.clientID, start, end };
    void this.save();
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
