/**
 * @module The outbox of intents (DESIGN.md "The filter"): every user action is an idempotent
 * intent with a client-made id, stored before it touches the document, checked by the same rules
 * the server runs, and settled exactly once with an outcome (README "The intent contract"):
 * - accepted: the server holds its write: a stamp (messages), an `accepted` message or the
 *   server's state vector covering the clock range it wrote (after a reconnect or a resync);
 * - refused: a rule refused it (here, or on the server), with the error;
 * - superseded: when it was replayed, its effect already held (another device did the same).
 * If the local document is reset, replaying the outbox re-creates, in order, every intent the
 * server does not hold, each judged again against the server's current state: never skipping
 * an intent because a later one's end state happens to hold already.
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

export type Outcome =
  | { status: 'accepted' }
  | { status: 'refused'; error: ConvosyncError }
  | { status: 'superseded' };

export interface ApplyContext {
  parsed: ParsedDoc;
  author: Author;
  now: number;
}

export class Outbox {
  private intents: Stored[];
  private saving: Promise<void> = Promise.resolve();
  /** A save queued behind the one in flight; it writes the outbox as it is when it starts. */
  private queued: Promise<void> | undefined;
  /** Called once per intent, when it leaves the outbox. */
  onSettled: (intent: Intent, outcome: Outcome) => void = () => {};

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
   * writes it would make. A private chat opened offline (no genesis at all yet) is judged by the
   * server alone; a group created offline is judged against its local genesis, so the owner
   * cannot leave it or recall a message the server never stamped.
   */
  check(doc: Y.Doc, intent: Intent, ctx: ApplyContext): ReturnType<typeof intentWrites> {
    const writes = intentWrites(doc, intent, ctx.author, ctx.now);
    if (!hasGenesis(doc) && !doc.getMap('meta').has('key') && intent.kind !== 'createGroup')
      return writes;
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
   * Re-applies, in order, every unconfirmed intent whose write `doc` lacks (its clock range is
   * not in `doc`). One whose effect already holds is superseded; one the rules now refuse is
   * refused; both leave the outbox (reported through `onSettled`), so nothing stays pending.
   */
  async replay(doc: Y.Doc, ctx: ApplyContext, origin: unknown): Promise<void> {
    const settled: Array<[Stored, Outcome]> = [];
    for (const intent of this.intents) {
      if (holdsWrite(doc, intent)) continue;
      if (intent.kind === 'send' && intentApplied(doc, intent, ctx.author)) continue; // its stamp settles it
      if (intentApplied(doc, intent, ctx.author)) {
        settled.push([intent, { status: 'superseded' }]);
        continue;
      }
      try {
        this.write(doc, intent, this.check(doc, intent, ctx), origin);
      } catch (error) {
        settled.push([intent, { status: 'refused', error: error as ConvosyncError }]);
      }
    }
    await this.remove(settled);
  }

  /**
   * Settles what the server confirmed: stamps of sent messages in `doc`, and writes whose clock
   * range `acked` covers (`accepted` messages, and the server's state vector that opens every
   * sync: after a resync it confirms what the server took before the rejection). Never the
   * local document's own state: it also holds writes made since, not yet sent.
   */
  settle(doc: Y.Doc, acked?: ReadonlyMap<number, number>): Promise<void> {
    const { stamps } = conversationRoots(doc);
    const settled: Array<[Stored, Outcome]> = [];
    for (const intent of this.intents) {
      const w = intent.written;
      const confirmed =
        (intent.kind === 'send' && stamps.has(intent.id)) ||
        (w !== undefined && acked !== undefined && (acked.get(w.clientId) ?? 0) >= w.end);
      if (confirmed) settled.push([intent, { status: 'accepted' }]);
    }
    if (settled.length === 0) return this.saving;
    return this.remove(settled);
  }

  /** Reports every queued intent as refused with `error` (e.g. access lost) and empties the outbox. */
  refuseAll(error: ConvosyncError): Promise<void> {
    return this.remove(this.intents.map((i) => [i, { status: 'refused', error }]));
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

  /** Removes one intent the server refused, reporting it. */
  refuse(intent: Intent, error: ConvosyncError): Promise<void> {
    return this.remove([[intent as Stored, { status: 'refused', error }]]);
  }

  private remove(settled: ReadonlyArray<readonly [Stored, Outcome]>): Promise<void> {
    if (settled.length === 0) return this.save();
    const ids = new Set(settled.map(([i]) => i.id));
    const before = this.intents;
    this.intents = before.filter((i) => !ids.has(i.id));
    const saved = this.save();
    // Reported once each, even if two settle calls race over the same intent.
    for (const [intent, outcome] of settled)
      if (before.some((i) => i.id === intent.id)) this.onSettled(intent, outcome);
    return saved;
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

  /**
   * Writes the outbox. Serialised, so an older list never overwrites a newer one; and coalesced:
   * while one write is in flight, every later call shares the one queued behind it, which takes
   * the list as it is when it starts. Each write costs O(pending), so one write per change would
   * make a burst of n sends (pending grows while the server catches up) cost O(n²).
   */
  private save(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.saving
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.store.saveIntents(this.name, this.intents);
      });
    this.queued = next;
    this.saving = next;
    return next;
  }
}

/** Whether `doc` holds the write `intent` made (its whole clock range). */
function holdsWrite(doc: Y.Doc, intent: Stored): boolean {
  const w = intent.written;
  return w !== undefined && Y.getState(doc.store, w.clientId) >= w.end;
}
