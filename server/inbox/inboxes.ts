/**
 * @module The inbox writer: after a conversation changes (and the change is durable), it updates
 * the entry of that conversation in the inbox document of every member, so each identity's
 * conversation list (name, preview, unread, last active time) syncs to its devices in real time
 * without opening every conversation. Debounced per conversation: a burst of messages costs one
 * pass over the members. Exited members' entries are removed.
 *
 * Crash safety: the conversation is the source of truth and entries are recomputed from it, so a
 * lost pass is repaired by the next change of that conversation (and an inbox never shows
 * something the conversation does not hold: the pass reads durable state, between room steps).
 */
import type { IdentityId } from '../../shared/ids.js';
import { type ConversationKey, inboxKey, tryParseKey } from '../../shared/keys.js';
import { type InboxEntry, inboxRoots } from '../../shared/schema.js';
import type { Logger } from '../log.js';
import { Debounce } from '../schedule.js';
import type { Rooms } from '../sync/rooms.js';
import { inboxEntry, listedFor, liveSummary } from './entry.js';

export interface InboxesDeps {
  rooms: Rooms;
  log: Logger;
  now: () => number;
  /** Quiet time after a change before the pass runs. */
  debounceMs: number;
  /** Longest a pass waits under a steady stream of changes. */
  maxDelayMs: number;
}

export class Inboxes {
  private readonly pending: Debounce<ConversationKey>;
  private readonly running = new Map<ConversationKey, Promise<void>>();
  /**
   * Last entry JSON written per conversation and identity: skips unchanged inboxes. Kept only
   * while the conversation's room is loaded (1–3 KB a room would otherwise stay forever); the
   * first pass after a reload compares with the inboxes themselves instead.
   */
  private readonly written = new Map<ConversationKey, Map<IdentityId, string>>();
  private closed = false;

  constructor(private readonly deps: InboxesDeps) {
    this.pending = new Debounce(deps, (key) => void this.run(key));
    deps.rooms.onUnload((key) => this.written.delete(key as ConversationKey));
  }

  /** Conversations whose last entries are remembered (tests: none after their rooms unload). */
  get remembered(): number {
    return this.written.size;
  }

  /** A document became durable; conversations get their members' entries refreshed. */
  notify(name: string): void {
    const parsed = tryParseKey(name);
    if (!parsed || this.closed) return;
    this.pending.touch(parsed.key);
  }

  /** Runs every scheduled pass now and waits for all passes (tests, shutdown). */
  async flush(): Promise<void> {
    for (const key of this.pending.takeAll()) void this.run(key);
    await Promise.allSettled(this.running.values());
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.pending.destroy();
  }

  /** One pass at a time per conversation; a change during a pass schedules another. */
  private run(key: ConversationKey): Promise<void> {
    const previous = this.running.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.pass(key))
      .catch((error) => this.deps.log.warn('inbox update failed', { conversation: key, error }))
      .finally(() => {
        if (this.running.get(key) === next) this.running.delete(key);
      });
    this.running.set(key, next);
    return next;
  }

  private async pass(key: ConversationKey): Promise<void> {
    const parsed = tryParseKey(key);
    if (!parsed) return;
    const conversation = await this.deps.rooms.borrow(key);
    let computed: { entries: Map<IdentityId, InboxEntry>; exited: IdentityId[] };
    try {
      computed = await conversation.read((doc) => {
        if (!doc.getMap('meta').has('conversationId')) return { entries: new Map(), exited: [] };
        const log = liveSummary(doc);
        const { active, exited } = listedFor(doc);
        const entries = new Map(active.map((id) => [id, inboxEntry(doc, parsed, id, log)]));
        return { entries, exited };
      });
    } finally {
      conversation.release();
    }
    const known = this.written.get(key);
    const written = new Map<IdentityId, string>();
    for (const [identity, entry] of computed.entries) {
      const json = JSON.stringify(entry);
      written.set(identity, json);
      if (known?.get(identity) === json) continue;
      await this.write(identity, key, entry);
    }
    // Without a record of earlier passes (first pass since start), every exited member is checked.
    const gone = known
      ? [...known.keys()].filter((id) => !computed.entries.has(id))
      : computed.exited;
    for (const identity of gone) await this.write(identity, key, undefined);
    // The room may have unloaded during the writes: then nothing is remembered for it.
    if (this.deps.rooms.peek(key)) this.written.set(key, written);
    else this.written.delete(key);
  }

  private async write(
    identity: IdentityId,
    key: ConversationKey,
    entry: InboxEntry | undefined,
  ): Promise<void> {
    const inbox = await this.deps.rooms.borrow(inboxKey(identity));
    try {
      await inbox.write('inbox', (doc) => {
        const { entries } = inboxRoots(doc);
        const current = entries.get(key);
        if (entry === undefined) {
          if (current === undefined) return false;
          entries.delete(key);
          return true;
        }
        if (current !== undefined && JSON.stringify(current) === JSON.stringify(entry))
          return false;
        entries.set(key, entry);
        return true;
      });
    } finally {
      inbox.release();
    }
  }
}
