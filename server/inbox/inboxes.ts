/**
 * @module The inbox: each identity's conversation list (name, preview, unread, last active time
 * per conversation), kept in its inbox document (`inbox_{identityId}`) for its devices.
 *
 * Entries are derived from the conversations, so they are never stored (inbox-view.ts): they are
 * computed when an inbox opens (its room loads) and, after a conversation changes (the change
 * feed; debounced per conversation, server/schedule.ts), pushed to the inboxes that are open. A
 * message in a group of N members therefore costs no durable write per member, and computes
 * entries only for the members whose inbox is open. What is stored is the list of conversations
 * each inbox shows (lists.ts), written when someone joins or leaves.
 *
 * Crash safety: the conversation is the source of truth. A list change lost in a crash (the
 * conversation changed durably, the list not yet) is repaired by the conversation's next pass:
 * the first pass after a conversation loads checks every member's list.
 *
 * Cluster mode (`cluster`): a conversation's pass runs on its owner, which alone writes its
 * members' lists, and then tells every node (a notice: the key and the identities whose list
 * changed, server/cluster/inbox-notices.ts). A node with an inbox open that lists the key
 * (watchers.ts), or whose list changed, runs a viewer pass: it reads the conversation from a
 * copy of its durable log and writes the entries into its own open inboxes. Entries of
 * conversations another node owns are read from such copies when an inbox opens, too, so
 * nothing here claims or loads a room another node owns.
 */
import * as Y from 'yjs';
import type { IdentityId } from '../../shared/ids.js';
import {
  type ConversationKey,
  type DocName,
  inboxKey,
  parseInboxKey,
  tryParseKey,
} from '../../shared/keys.js';
import { type InboxEntry, inboxRoots } from '../../shared/schema.js';
import { inBatches, Slots } from '../in-batches.js';
import type { Logger } from '../log.js';
import { liveSummary } from '../log-summary.js';
import { Debounce } from '../schedule.js';
import type { DocStore } from '../store/types.js';
import { ViewClients } from '../sync/inbox-view.js';
import type { Room } from '../sync/room.js';
import type { Rooms } from '../sync/rooms.js';
import { inboxEntry, listedFor } from './entry.js';
import { InboxLists, type MetaSwap } from './lists.js';
import { EarlierViews } from './views.js';
import { InboxWatchers } from './watchers.js';

/** A conversation's owner to every node: its entries may have changed (cluster mode). */
export interface InboxNotice {
  key: ConversationKey;
  /** Identities whose list the owner's pass changed (they joined or left). */
  changed: IdentityId[];
}

/** What the inbox needs of the other nodes in cluster mode (server/cluster/inbox-notices.ts). */
export interface InboxCluster {
  /** Whether this node owns `key` now: its passes write the lists and send notices. */
  owns(key: ConversationKey): boolean;
  /** `f` on a copy of `key`'s durable log, caught up now (another node owns it, or none). */
  readCopy<T>(key: ConversationKey, f: (doc: Y.Doc) => T): Promise<T>;
  /**
   * Writes meta `key` only if it still holds `expected` (undefined: nothing stored): the lists
   * are written by each conversation's owner, so by several nodes (lists.ts).
   */
  swapMeta: MetaSwap;
  /**
   * Sends `notice` to every other node, with the others of a short window (and again later if
   * Redis does not take it now).
   */
  publish(notice: InboxNotice): void;
  /** Sends the notices waiting in the window now; resolves once Redis answered. */
  flush(): Promise<void>;
  /**
   * Notices from other nodes go to `notice`; `resync` is called when some may have been missed
   * (this node's subscription was down).
   */
  listen(listener: { notice(notice: InboxNotice): void; resync(): void }): void;
}

export interface InboxesDeps {
  rooms: Rooms;
  store: Pick<DocStore, 'getMeta' | 'setMeta' | 'load'>;
  log: Logger;
  now: () => number;
  /** Quiet time after a change before the pass runs. */
  debounceMs: number;
  /** Longest a pass waits under a steady stream of changes. */
  maxDelayMs: number;
  /** Longest an opening inbox waits for its conversations' entries (default 10 s). */
  openTimeoutMs?: number;
  /** Cluster mode; absent on a single node (nothing here then costs an await or Redis). */
  cluster?: InboxCluster;
}

/** Conversations whose entries an opening inbox computes at once. */
const OPEN_CONCURRENCY = 16;
/** Identities' lists a pass checks at once. */
const LIST_CONCURRENCY = 16;
/**
 * Passes running at once, over all conversations: a restart's catch-up loads thousands of
 * conversations, each of which gets a pass that reads every member's list (cold cache); the
 * others wait their turn instead of all reading at once.
 */
export const PASS_CONCURRENCY = 16;
const OPEN_TIMEOUT_MS = 10_000;
/** A failed pass is tried again after 500 ms, then 1, 2, 4... s (at most 30 s), 8 times at most. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;
const RETRIES = 8;
/** Inbox lists read, then conversations passed, at a time in a resync (`resync`). */
const RESYNC_CONCURRENCY = 16;

/** An entry computed at a point of the conversation's history (`version`: later is greater). */
interface Computed {
  entry: InboxEntry | undefined;
  version: number;
}

export class Inboxes {
  private readonly pending: Debounce<ConversationKey>;
  private readonly running = new Map<ConversationKey, Promise<void>>();
  private readonly slots = new Slots(PASS_CONCURRENCY);
  /**
   * Conversations whose next pass follows a change (someone waits to see it in his list); the
   * others' passes (a load's, a resync's) are repairs, and give way to these.
   */
  private readonly changed = new Set<ConversationKey>();
  /** Conversations whose next pass is chained but not started (a request then joins it). */
  private readonly queued = new Set<ConversationKey>();
  /** Conversations whose last pass failed: how often, and the timer of the next attempt. */
  private readonly retries = new Map<
    ConversationKey,
    { failures: number; timer?: NodeJS.Timeout | undefined }
  >();
  /** Cluster mode: the conversations the inboxes open here list. */
  private readonly watchers = new InboxWatchers();
  private readonly opening = new Set<Promise<void>>();
  readonly lists: InboxLists;
  private readonly viewClients: ViewClients;
  private readonly views: EarlierViews;
  /** Open inbox rooms (their views are remembered when they unload). */
  private readonly inboxRooms = new Map<DocName, Room>();
  private readonly saving = new Set<Promise<void>>();
  /**
   * Members each loaded conversation is known to be listed for (its first pass after a load
   * checks them all). Kept only while the conversation's room is loaded.
   */
  private readonly known = new Map<ConversationKey, Set<IdentityId>>();
  /** Per open inbox: the version of the entry it shows for each conversation. */
  private readonly shown = new Map<DocName, Map<ConversationKey, number>>();
  /** Increases with every read of a conversation: orders entries computed concurrently. */
  private version = 0;
  private closed = false;
  /** The resync running now (cluster mode), and whether another was asked for meanwhile. */
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;

  constructor(private readonly deps: InboxesDeps) {
    // Real time, not the injected clock: a frozen test clock would re-arm the timer forever.
    this.pending = new Debounce({ ...deps, now: Date.now }, (key) => void this.run(key));
    this.lists = new InboxLists(
      deps.store,
      (identity) => storedEntries(deps.store, identity),
      deps.cluster?.swapMeta,
    );
    this.viewClients = new ViewClients(deps.store);
    this.views = new EarlierViews(deps.store);
    deps.rooms.onUnload((key) => {
      const identity = parseInboxKey(key);
      if (identity !== undefined) this.watchers.dropIdentity(identity);
      this.known.delete(key as ConversationKey);
      this.shown.delete(key);
      const room = this.inboxRooms.get(key);
      this.inboxRooms.delete(key);
      if (room) this.saveViews(room);
    });
    deps.rooms.onLoad((room) => {
      if (room.parsed.type === 'inbox') return this.open(room);
      // A pass for every conversation that loads: the process that appended its last change
      // may have died (kill -9; in cluster mode, its previous owner) before that change's pass
      // wrote the members' lists, and a member it added would never see the conversation in
      // his inbox until the next change. The pass writes only lists that lack it (nothing, as
      // a rule), and in cluster mode tells the other nodes, whose open inboxes read the log
      // again (the owner's notice may never have gone out either). Not when a pass of that
      // conversation loaded it (its borrow): that pass is the one, and another after it could
      // load it again after an idle unload, and so on.
      if (!this.closed && !this.running.has(room.parsed.key)) this.pending.touch(room.parsed.key);
      return undefined;
    });
    deps.cluster?.listen({
      notice: (notice) => this.received(notice),
      resync: () => this.resync(),
    });
  }

  /** Conversations the inboxes open here are watched for (cluster mode; tests). */
  get watched(): number {
    return this.watchers.size;
  }

  /** Conversations whose listed members are remembered (tests: none after their rooms unload). */
  get remembered(): number {
    return this.known.size;
  }

  /** A document changed durably (the feed): its members' open inboxes get the new entries. */
  notify(name: string): void {
    const parsed = tryParseKey(name);
    if (!parsed || this.closed) return;
    this.changed.add(parsed.key);
    this.pending.touch(parsed.key);
  }

  /** Runs every scheduled pass now and waits for all passes and opening inboxes (tests, shutdown). */
  async flush(): Promise<void> {
    for (const key of this.pending.takeAll()) void this.run(key);
    await Promise.allSettled([...this.running.values(), ...this.opening]);
    await Promise.allSettled([...this.saving]);
    // The passes' notices too: the other nodes hear of them now, not after the batch window.
    await this.deps.cluster?.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    // Passes that failed (that flush's too) get their retry now: its timer would not outlive us.
    const retrying = [...this.retries.keys()];
    for (const key of retrying) {
      this.retried(key);
      this.notify(key);
    }
    if (retrying.length > 0) await this.flush();
    for (const room of this.inboxRooms.values()) this.saveViews(room);
    await Promise.allSettled([...this.saving]);
    this.closed = true;
    this.pending.destroy();
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
  }

  /**
   * An inbox room loaded: its entries are computed from the conversations it lists, before any
   * socket joins it; entries of conversations it no longer lists are removed.
   */
  private open(room: Room): Promise<void> {
    const done = this.fill(room)
      .catch((error) => this.deps.log.warn('inbox open failed', { inbox: room.key, error }))
      .finally(() => this.opening.delete(done));
    this.opening.add(done);
    return done;
  }

  private async fill(room: Room): Promise<void> {
    if (room.parsed.type !== 'inbox') return;
    const owner = room.parsed.owner;
    const { cluster } = this.deps;
    // Another node may have changed the list since it was cached: an opening inbox reads it anew.
    if (cluster) await this.lists.forget(owner);
    const [client, earlier, listed, left] = await Promise.all([
      this.viewClients.next(),
      this.views.get(room.key),
      this.lists.get(owner),
      this.lists.left(owner),
    ]);
    room.useView(client, earlier);
    room.onEarlierViews = () => this.saveViews(room);
    this.inboxRooms.set(room.key, room);
    if (cluster)
      for (const key of listed) {
        const parsed = tryParseKey(key);
        if (parsed) this.watchers.add(parsed.key, owner);
      }
    const keys = [...listed];
    const computed = new Map<ConversationKey, Computed>();
    // One conversation that cannot be read (or is slow) must not cost the others their entry:
    // it keeps what the device shows and is tried again by a pass.
    const failed: ConversationKey[] = [];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.deps.openTimeoutMs ?? OPEN_TIMEOUT_MS);
    });
    try {
      await inBatches(keys, OPEN_CONCURRENCY, async (key) => {
        const parsed = tryParseKey(key);
        if (!parsed) return;
        try {
          const result = await Promise.race([this.entryFor(parsed.key, owner), deadline]);
          if (result === 'timeout') failed.push(parsed.key);
          else computed.set(parsed.key, result);
        } catch (error) {
          failed.push(parsed.key);
          this.deps.log.warn('inbox entry failed', { inbox: room.key, conversation: key, error });
        }
      });
    } finally {
      clearTimeout(timer);
    }
    this.shown.set(room.key, this.shown.get(room.key) ?? new Map());
    await room.viewWrite((doc) => {
      let wrote = false;
      // The first write of each key in this view, whatever the device holds from an earlier one.
      for (const [key, c] of computed) wrote = this.show(doc, room.key, key, c) || wrote;
      // What is listed now (a join may have landed while the entries were computed).
      const now = this.lists.cached(owner) ?? { listed, left };
      const shown = this.shown.get(room.key);
      const { entries } = inboxRoots(doc);
      // Entries of conversations no longer listed (old stored ones included) go; not those a
      // pass wrote meanwhile.
      for (const key of [...entries.keys()]) {
        if (computed.has(key as ConversationKey) || now.listed.has(key)) continue;
        if (shown?.has(key as ConversationKey)) continue;
        entries.delete(key);
        wrote = true;
      }
      // Conversations left: a device offline since may still show them from an earlier view.
      for (const key of now.left) {
        if (now.listed.has(key) || entries.has(key) || shown?.has(key as ConversationKey)) continue;
        entries.set(key, null as never);
        entries.delete(key);
        wrote = true;
      }
      return wrote;
    });
    for (const key of failed) this.notify(key);
  }

  /** Remembers how far `room`'s views got on devices (inbox-view.ts), off the hot path. */
  private saveViews(room: Room): void {
    const saving = this.views
      .save(room.key, room.viewClocks())
      .catch((error) => this.deps.log.warn('inbox views not saved', { inbox: room.key, error }))
      .finally(() => this.saving.delete(saving));
    this.saving.add(saving);
  }

  /** The entry of `key` for `identity` now (undefined: not an active member, or no genesis). */
  private async entryFor(key: ConversationKey, identity: IdentityId): Promise<Computed> {
    const compute = (doc: Y.Doc): Computed => {
      const version = ++this.version;
      const parsed = tryParseKey(key)!;
      if (!doc.getMap('meta').has('conversationId')) return { entry: undefined, version };
      if (!listedFor(doc).active.includes(identity)) return { entry: undefined, version };
      return { entry: inboxEntry(doc, parsed, identity, liveSummary(doc)), version };
    };
    const { cluster } = this.deps;
    // Cluster mode: a conversation owned elsewhere (or by nobody) is read, never claimed.
    if (cluster && !cluster.owns(key)) return cluster.readCopy(key, compute);
    const conversation = await this.deps.rooms.borrow(key);
    try {
      return await conversation.read(compute);
    } finally {
      conversation.release();
    }
  }

  /**
   * One pass at a time per conversation, and at most PASS_CONCURRENCY over all of them; a
   * change during a pass schedules another (one: a request while the next pass has not started
   * yet is served by that pass).
   */
  private run(key: ConversationKey): Promise<void> {
    const previous = this.running.get(key);
    if (previous && this.queued.has(key)) {
      // Queued as a load's catch-up and waiting for a slot: a change now makes it live.
      if (this.changed.has(key)) this.slots.promote(key);
      return previous;
    }
    this.queued.add(key);
    const next = (previous ?? Promise.resolve())
      .then(() =>
        this.slots.run(
          () => {
            this.queued.delete(key);
            this.changed.delete(key);
            return this.pass(key);
          },
          this.changed.has(key),
          key,
        ),
      )
      .then(
        () => this.retried(key),
        (error) => {
          this.deps.log.warn('inbox update failed', { conversation: key, error });
          this.retryLater(key);
        },
      )
      .finally(() => {
        if (this.running.get(key) === next) this.running.delete(key);
      });
    this.running.set(key, next);
    return next;
  }

  /**
   * A pass that failed (a list write refused, the conversation unreadable for a moment) runs
   * again after a backoff, as after a change: its members' lists and the other nodes' inboxes
   * would otherwise wait for the conversation's next change. Given up after RETRIES attempts.
   */
  private retryLater(key: ConversationKey): void {
    if (this.closed) return;
    const retry = this.retries.get(key) ?? { failures: 0 };
    if (retry.timer) return;
    retry.failures += 1;
    if (retry.failures > RETRIES) {
      this.retries.delete(key);
      this.deps.log.error('inbox update failed again and again; given up until its next change', {
        conversation: key,
      });
      return;
    }
    retry.timer = setTimeout(
      () => {
        retry.timer = undefined;
        this.notify(key);
      },
      Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (retry.failures - 1)),
    );
    retry.timer.unref();
    this.retries.set(key, retry);
  }

  /** A pass of `key` succeeded: a retry waiting for it is not needed any more. */
  private retried(key: ConversationKey): void {
    const retry = this.retries.get(key);
    if (!retry) return;
    clearTimeout(retry.timer);
    this.retries.delete(key);
  }

  private async pass(key: ConversationKey): Promise<void> {
    const parsed = tryParseKey(key);
    if (!parsed) return;
    const { rooms, cluster } = this.deps;
    if (cluster && !cluster.owns(key)) return this.view(key, cluster);
    const conversation = await rooms.borrow(key);
    let read: {
      active: IdentityId[];
      exited: IdentityId[];
      open: Map<IdentityId, Computed>;
    };
    try {
      read = await conversation.read((doc) => {
        const version = ++this.version;
        if (!doc.getMap('meta').has('conversationId'))
          return { active: [], exited: [], open: new Map() };
        const { active, exited } = listedFor(doc);
        const open = new Map<IdentityId, Computed>();
        const log = active.some((id) => rooms.peek(inboxKey(id))) ? liveSummary(doc) : undefined;
        for (const id of active)
          if (log && rooms.peek(inboxKey(id)))
            open.set(id, { entry: inboxEntry(doc, parsed, id, log), version });
        for (const id of exited)
          if (rooms.peek(inboxKey(id))) open.set(id, { entry: undefined, version });
        return { active, exited, open };
      });
    } finally {
      conversation.release();
    }
    // The lists: durable, written only when membership changed. Without `known` (the room just
    // loaded) every member's list is checked: a few at a time, not one after another, since
    // each check may be a read (a 500-member group after a restart).
    const known = this.known.get(key);
    const changed: IdentityId[] = [];
    let failed: { error: unknown } | undefined;
    const change = (id: IdentityId, write: Promise<boolean>) =>
      write.then(
        (wrote) => {
          if (wrote) changed.push(id);
        },
        (error: unknown) => {
          failed ??= { error };
        },
      );
    await inBatches(
      read.active.filter((id) => !known?.has(id)),
      LIST_CONCURRENCY,
      (id) => change(id, this.lists.add(id, key)),
    );
    await inBatches(
      read.exited.filter((id) => !known || known.has(id)),
      LIST_CONCURRENCY,
      (id) => change(id, this.lists.remove(id, key)),
    );
    // A list that could not be written is checked again by the retry (`known` stays unset); the
    // notice and the open inboxes below need no list, so they are served now all the same.
    if (!failed && rooms.peek(key)) this.known.set(key, new Set(read.active));
    else this.known.delete(key);
    // The lists are durable: other nodes may read them and their open inboxes follow.
    cluster?.publish({ key, changed });
    // An inbox that opened after the read (its fill may have read the list before these writes)
    // gets the entry from another pass.
    if (
      [...read.active, ...read.exited].some((id) => !read.open.has(id) && rooms.peek(inboxKey(id)))
    )
      this.pending.touch(key);
    // The open inboxes: in memory, sent to their sockets.
    for (const [id, computed] of read.open) {
      const inbox = rooms.peek(inboxKey(id));
      if (!inbox) continue;
      await inbox.viewWrite((doc) => this.show(doc, inbox.key, key, computed)).catch(() => {});
    }
    if (failed) throw failed.error;
  }

  /**
   * Cluster mode, a conversation another node owns: its entry for each inbox open here that
   * lists it, from a copy of its log (which holds at least what the owner's pass read, as the
   * owner reads only durable state and tells after its pass). No list is written here.
   */
  private async view(key: ConversationKey, cluster: InboxCluster): Promise<void> {
    const parsed = tryParseKey(key);
    const { rooms } = this.deps;
    const watching = this.watchers.of(key).filter((id) => rooms.peek(inboxKey(id)));
    if (!parsed || watching.length === 0) return;
    const computed = await cluster.readCopy(key, (doc) => {
      const version = ++this.version;
      const active = new Set(doc.getMap('meta').has('conversationId') ? listedFor(doc).active : []);
      const log = watching.some((id) => active.has(id)) ? liveSummary(doc) : undefined;
      return watching.map((id): [IdentityId, Computed] => [
        id,
        { entry: log && active.has(id) ? inboxEntry(doc, parsed, id, log) : undefined, version },
      ]);
    });
    for (const [id, c] of computed) {
      // Not an active member (any more): its entry goes, and the key is no longer watched for it.
      if (c.entry === undefined) this.watchers.drop(key, id);
      const inbox = rooms.peek(inboxKey(id));
      if (!inbox) continue;
      await inbox.viewWrite((doc) => this.show(doc, inbox.key, key, c)).catch(() => {});
    }
  }

  /** Cluster mode: another node's pass of `notice.key` is done (its lists are durable). */
  private received({ key, changed }: InboxNotice): void {
    if (this.closed) return;
    for (const id of changed) {
      void this.lists.forget(id);
      // A join (or a leave) of an identity whose inbox is open here: the view pass decides.
      if (this.deps.rooms.peek(inboxKey(id))) this.watchers.add(key, id);
    }
    if (!this.watchers.watches(key)) return;
    this.changed.add(key); // a change on its owner: as live as one here
    void this.run(key);
  }

  /**
   * Cluster mode, notices may have been missed (this node's subscription was down): every inbox
   * open here reads its list anew, and every conversation they list gets a pass. Bounded:
   * RESYNC_CONCURRENCY lists and then passes at a time, each conversation once however many
   * inboxes list it. When Redis comes back every node resyncs at once, and thousands of open
   * inboxes started together would queue thousands of list reads and log reads on the database
   * pool and hold their results in memory at once. A resync asked for while one runs is run once
   * more after it (not once per ask).
   */
  private resync(): void {
    if (this.closed) return;
    if (this.resyncing) {
      this.resyncAgain = true;
      return;
    }
    const run = async () => {
      do {
        this.resyncAgain = false;
        const owners = [...this.inboxRooms.values()].flatMap((room) =>
          room.parsed.type === 'inbox' ? [room.parsed.owner] : [],
        );
        await inBatches(owners, RESYNC_CONCURRENCY, async (owner) => {
          try {
            await this.lists.forget(owner);
            for (const key of await this.lists.get(owner)) {
              const parsed = tryParseKey(key);
              if (parsed) this.watchers.add(parsed.key, owner);
            }
          } catch (error) {
            this.deps.log.warn('inbox resync failed', { identity: owner, error });
          }
        });
        const keys = new Set(owners.flatMap((owner) => [...this.watchers.keysOf(owner)]));
        await inBatches(keys, RESYNC_CONCURRENCY, (key) =>
          this.closed ? Promise.resolve() : this.run(key),
        );
      } while (this.resyncAgain && !this.closed);
    };
    this.resyncing = run().finally(() => {
      this.resyncing = undefined;
    });
  }

  /** Writes `computed` into an inbox document unless it shows a later or the same entry. */
  private show(doc: Y.Doc, inbox: DocName, key: ConversationKey, computed: Computed): boolean {
    let shown = this.shown.get(inbox);
    if (!shown) {
      shown = new Map();
      this.shown.set(inbox, shown);
    }
    const first = !shown.has(key);
    if ((shown.get(key) ?? 0) > computed.version) return false;
    shown.set(key, computed.version);
    const { entries } = inboxRoots(doc);
    const current = entries.get(key);
    if (computed.entry === undefined) {
      if (current === undefined && !first) return false;
      // A first removal in this view is a tombstone: a device may show an earlier view's value.
      if (current === undefined) entries.set(key, null as never);
      entries.delete(key);
      return true;
    }
    // The first write of a key in a view always happens: a device may hold an earlier view's
    // different value, which only a write of this view overrides.
    if (
      !first &&
      current !== undefined &&
      JSON.stringify(current) === JSON.stringify(computed.entry)
    )
      return false;
    entries.set(key, computed.entry);
    return true;
  }
}

/** The entries an identity's stored inbox document holds (the seed of a list never written). */
async function storedEntries(
  store: Pick<DocStore, 'load'>,
  identity: IdentityId,
): Promise<string[]> {
  const doc = new Y.Doc({ guid: inboxKey(identity) });
  try {
    const { entries } = inboxRoots(doc);
    for (const update of await store.load(inboxKey(identity))) Y.applyUpdate(doc, update);
    return [...entries.keys()];
  } finally {
    doc.destroy();
  }
}
