/**
 * @module A per-sender floor on awareness updates: a client that publishes faster than once
 * per `floorMs` has its updates held and merged (latest clock per clientID wins), and the merge
 * is applied when the floor has passed. Removals (a state set to null: the client left) are
 * never held, so nobody looks online longer than they are.
 *
 * Holding instead of dropping keeps the last word: a burst that ends with "stopped typing" or a
 * new cursor position still arrives, just later; the checks and the apply run once per floor
 * instead of once per update, which is what bounds a flooding client's cost.
 */
import * as encoding from 'lib0/encoding';
import type { AwarenessEntry } from './clients.js';

interface Held {
  entries: Map<number, AwarenessEntry>;
  timer: ReturnType<typeof setTimeout>;
}

export class AwarenessFloor<Sender> {
  private readonly lastApplied = new Map<Sender, number>();
  private readonly held = new Map<Sender, Held>();

  /**
   * @param floorMs shortest time between two applied updates of one sender (0: no floor)
   * @param apply checks and applies one update (the original bytes, or a merge of held ones)
   */
  constructor(
    private readonly floorMs: number,
    private readonly apply: (
      sender: Sender,
      update: Uint8Array,
      entries: readonly AwarenessEntry[],
    ) => void,
  ) {}

  /** Offers one decoded update of `sender`: applied now, or held until the floor has passed. */
  offer(sender: Sender, update: Uint8Array, entries: readonly AwarenessEntry[]): void {
    const held = this.held.get(sender);
    if (entries.some((e) => e.state === 'null')) {
      // A removal goes at once; held states it supersedes must not resurrect the client later.
      if (held) {
        for (const e of entries) {
          const older = held.entries.get(e.clientId);
          if (older && older.clock <= e.clock) held.entries.delete(e.clientId);
        }
      }
      this.apply(sender, update, entries);
      return;
    }
    const since = Date.now() - (this.lastApplied.get(sender) ?? Number.NEGATIVE_INFINITY);
    if (!held && since >= this.floorMs) {
      this.lastApplied.set(sender, Date.now());
      this.apply(sender, update, entries);
      return;
    }
    const pending = held ?? {
      entries: new Map<number, AwarenessEntry>(),
      timer: setTimeout(() => this.release(sender), this.floorMs - since),
    };
    for (const e of entries) {
      const older = pending.entries.get(e.clientId);
      if (!older || older.clock <= e.clock) pending.entries.set(e.clientId, e);
    }
    this.held.set(sender, pending);
  }

  /** Whether a state of `clientId` from `sender` waits for the floor. */
  holds(sender: Sender, clientId: number): boolean {
    return this.held.get(sender)?.entries.has(clientId) === true;
  }

  /** Forgets a sender that left (its held states are moot: the room removes its states). */
  forget(sender: Sender): void {
    clearTimeout(this.held.get(sender)?.timer);
    this.held.delete(sender);
    this.lastApplied.delete(sender);
  }

  destroy(): void {
    for (const sender of [...this.held.keys()]) this.forget(sender);
    this.lastApplied.clear();
  }

  private release(sender: Sender): void {
    const held = this.held.get(sender);
    this.held.delete(sender);
    if (!held || held.entries.size === 0) return;
    const entries = [...held.entries.values()];
    this.lastApplied.set(sender, Date.now());
    this.apply(sender, encodeEntries(entries), entries);
  }
}

/** The y-protocols awareness update format, the inverse of `readAwarenessEntries`. */
export function encodeEntries(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientId);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, state);
  }
  return encoding.toUint8Array(encoder);
}
