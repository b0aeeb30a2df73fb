/**
 * @module One conversation document on the server, a small core: a queue of steps, the peers,
 * and apply → commit → persist → publish, one incoming message at a time.
 *
 * Every change to the document happens inside the room's queue, and the queue only moves on once
 * the change is durable. So the document never holds state that is not on disk, and nothing is
 * broadcast (acknowledged) or published to the feed before it is on disk (invariant 4). A failed
 * write poisons the room: its connections are closed with a retryable code and the in-memory
 * copy is discarded, so the next load starts again from what is really on disk.
 *
 * Around the core: the filter judges (filter.ts), `commit` writes the server's part of a step and
 * returns what must follow (commit.ts), presence lives in awareness.ts, acks in authorship.ts,
 * forward checks in forward.ts; everything after durability reads the feed (server/feed/).
 */
import type * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import {
  genesisMembers,
  getMember,
  hasGenesis,
  lastSeq,
  writeGenesis,
} from '../../shared/conversation.js';
import { ConversationType, PlatformRole } from '../../shared/enums.js';
import { ConvosyncError } from '../../shared/errors.js';
import type { MessageKey } from '../../shared/ids.js';
import type { DocName, ParsedDoc } from '../../shared/keys.js';
import type { IncomingMessage } from '../../shared/protocol/sync.js';
import * as wire from '../../shared/protocol/sync.js';
import { canRead } from '../../shared/rules/access.js';
import { byRoot, type Write } from '../../shared/rules/context.js';
import { checkWrites } from '../../shared/rules/writes.js';
import { conversationRoots, inboxRoots, type Stamp } from '../../shared/schema.js';
import { systemEvents } from '../../shared/system-events.js';
import type { Identity } from '../auth/identity.js';
import type { Change, ChangeOrigin, Feed } from '../feed/types.js';
import type { Logger } from '../log.js';
import type { IdGenerator } from '../message-ids.js';
import type { Metrics } from '../metrics.js';
import type { Moderation } from '../moderation/moderation.js';
import { redactedUpdate } from '../moderation/redact.js';
import { CompactionPolicy } from '../store/compaction.js';
import type { DocStore } from '../store/types.js';
import { acceptedOwnWrites, acceptedSince, clientStates } from './authorship.js';
import { RoomAwareness } from './awareness.js';
import { type CommitEffects, type CommitPlan, type Committed, commit } from './commit.js';
import type { FilterInput, Rejection, Verdict } from './filter.js';
import { badForward, type ForwardSource } from './forward.js';
import { withoutView } from './inbox-view.js';
import { createStamper, type Stamper } from './stamp.js';

/** One socket joined to this room, as the room sees it. */
export interface Peer {
  readonly identity: Identity;
  /** Whether the peer asked for `accepted` messages (the SDK does; stock clients do not). */
  readonly acks: boolean;
  send(frame: Uint8Array): void;
  close(error: ConvosyncError): void;
}

/**
 * Where a document change came from (like hocuspocus's TransactionOrigin). `stamped`: a peer's
 * update applied in the same transaction as the server's writes that follow it (its stamps).
 */
export type Origin =
  | { source: 'peer'; peer: Peer; stamped?: true; received?: Uint8Array }
  | { source: 'server'; reason: string };

export interface RoomDeps {
  store: DocStore;
  ids: IdGenerator;
  filter: (input: FilterInput) => Verdict;
  log: Logger;
  now: () => number;
  /** Where every durable step is published (projector, inbox, events subscribe there). */
  feed: Feed;
  /** Compact the stored update log after this many appends. */
  compactEvery: number;
  /** Largest awareness state (JSON characters) a client may publish. */
  maxAwarenessBytes: number;
  /** At most one awareness broadcast per room per this many ms (default 200; 0: every update). */
  awarenessFanoutMs?: number;
  /** A client's awareness updates closer than this are merged, removals excepted (default 250). */
  awarenessFloorMs?: number;
  /** Message `from.key` of conversation `from.conversation`, if `identity` may read it. */
  forwardSource: ForwardSource;
  metrics?: Metrics;
  /** Sensitive words and rate limits, for new messages from sockets and `submit` alike. */
  moderation?: Moderation;
  /** Most structs one update may hold (the filter's limit; an inbox counts view structs too). */
  maxStructs?: number;
}

/** What the current step's accepted writes were: the feed's record of the step. */
type StepRecord = Pick<
  Change,
  'author' | 'messages' | 'members' | 'reads' | 'profiles' | 'notes'
> & {
  /** Server time the writes were accepted at (else: when the step is published). */
  at?: number;
};

/** Earlier views of an inbox remembered (as inbox/views.ts keeps them). */
const EARLIER_KEPT = 256;

const NOTHING_ACCEPTED: StepRecord = {
  messages: [],
  members: [],
  reads: [],
  profiles: [],
  notes: [],
};

export class Room {
  readonly key: DocName;
  readonly parsed: ParsedDoc;
  readonly doc: Y.Doc;
  private readonly peers = new Set<Peer>();
  private readonly presence: RoomAwareness<Peer>;
  private readonly deps: RoomDeps;
  private readonly stamper: Stamper;
  private queue: Promise<void> = Promise.resolve();
  private outbox: Array<{ update: Uint8Array; origin: Origin }> = [];
  private record: StepRecord = NOTHING_ACCEPTED;
  private readonly compaction: CompactionPolicy;
  private lastCompaction: Promise<void> = Promise.resolve();
  /** The current step overwrote new messages with their censored copies (see `flush`). */
  private censored = false;
  private broken = false;
  /** The clientID of the server's in-memory view of an inbox (inbox-view.ts), once given. */
  private viewClient: number | undefined;
  /** Earlier views of this inbox: how far each got on devices (announced in the state vector). */
  private readonly earlierViews = new Map<number, number>();
  /** Called when a device sent structs of an earlier view beyond what `earlierViews` held. */
  onEarlierViews: (views: ReadonlyMap<number, number>) => void = () => {};
  /** Set by the registry; called once when the room must be dropped (broken or idle). */
  onDrop: (room: Room) => void = () => {};

  private constructor(parsed: ParsedDoc, doc: Y.Doc, deps: RoomDeps, stored: Uint8Array[]) {
    this.key = parsed.key;
    this.parsed = parsed;
    this.doc = doc;
    this.deps = deps;
    this.compaction = new CompactionPolicy(
      stored.length,
      stored.reduce((n, u) => n + u.byteLength, 0),
      deps.compactEvery,
    );
    this.stamper = createStamper(deps.ids, lastSeq(doc));
    this.presence = new RoomAwareness<Peer>(doc, {
      maxBytes: deps.maxAwarenessBytes,
      fanoutMs: deps.awarenessFanoutMs ?? 200,
      floorMs: deps.awarenessFloorMs ?? 250,
      peers: () => this.peers,
      refuse: (peer, error) => this.refuseAwareness(peer, error),
    });
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      this.outbox.push({ update, origin: origin as Origin });
    });
  }

  static async load(parsed: ParsedDoc, deps: RoomDeps): Promise<Room> {
    const updates = await deps.store.load(parsed.key);
    const doc = new Y.Doc({ gc: true });
    // Define every root before any update can create one.
    if (parsed.type === 'inbox') inboxRoots(doc);
    else conversationRoots(doc);
    doc.transact(() => {
      for (const update of updates) Y.applyUpdate(doc, update);
    });
    if (doc.store.pendingStructs || doc.store.pendingDs) {
      throw new ConvosyncError(
        'INTERNAL',
        `stored document ${parsed.key} has missing dependencies`,
      );
    }
    return new Room(parsed, doc, deps, updates);
  }

  /** The room's presence (y-protocols awareness). */
  get awareness(): awarenessProtocol.Awareness {
    return this.presence.awareness;
  }

  get size(): number {
    return this.peers.size;
  }

  get isBroken(): boolean {
    return this.broken;
  }

  /**
   * Creates a deterministic conversation (private, system, assistant) the first time one of
   * its members, or a platform role that serves it, opens it. Runs in the queue and re-checks,
   * so two members connecting at the same moment produce one genesis.
   */
  ensureGenesis(identity: Identity): Promise<void> {
    return this.enqueue(async () => {
      const parsed = this.parsed;
      if (parsed.type === 'inbox' || hasGenesis(this.doc)) return;
      const members = genesisMembers(parsed);
      if (!members) return;
      const serves =
        (this.parsed.type === ConversationType.System && identity.role === PlatformRole.Service) ||
        (this.parsed.type === ConversationType.Assistant && identity.role === PlatformRole.Admin);
      if (!members.includes(identity.id) && !serves) return;
      this.stamper.write(this.doc, { source: 'server', reason: 'genesis' } satisfies Origin, () =>
        writeGenesis(this.doc, {
          parsed,
          conversationId: this.deps.ids.next(),
          now: this.deps.now(),
          createdBy: identity.id,
          identityTypes: new Map([[identity.id, identity.type]]),
        }),
      );
      this.record = { ...NOTHING_ACCEPTED, members: [...members] };
      await this.flush();
    });
  }

  /** Admits a peer that may read the conversation, and starts the sync handshake. */
  join(peer: Peer): Promise<void> {
    return this.enqueue(async () => {
      if (!canRead(this.doc, this.parsed, peer.identity)) {
        if (
          this.parsed.type !== ConversationType.Group &&
          this.parsed.type !== 'inbox' &&
          !hasGenesis(this.doc)
        ) {
          throw new ConvosyncError('CONVERSATION_NOT_FOUND', `${this.key} does not exist`);
        }
        // Before the refusal, an SDK peer learns which of its own writes the server took (an ack
        // lost when it went offline), so it reports them accepted, and only the rest refused.
        if (peer.acks) {
          const frame = acceptedOwnWrites(this.doc, peer.identity.id);
          if (frame) peer.send(frame);
        }
        throw new ConvosyncError(
          'NOT_MEMBER',
          `${peer.identity.id} is not an active member of ${this.key}`,
        );
      }
      await this.learnIdentityType(peer.identity);
      this.peers.add(peer);
      const states = this.presence.join(peer);
      peer.send(wire.writeSyncStep1(Y.encodeStateVector(this.announcedState())));
      if (states) peer.send(states);
    });
  }

  /** Removes a peer and the awareness states it controlled. */
  leave(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    this.presence.leave(peer);
  }

  /** Handles one decoded message from a joined peer. Rejections close that peer only. */
  receive(peer: Peer, message: IncomingMessage): Promise<void> {
    switch (message.type) {
      case 'sync-step1':
        return this.enqueue(async () => {
          if (!this.peers.has(peer)) return;
          peer.send(wire.writeSyncStep2(Y.encodeStateAsUpdate(this.doc, message.stateVector)));
        });
      case 'sync-step2':
      case 'update':
        return this.enqueue(() => this.applyFrom(peer, message.update));
      case 'awareness':
        this.presence.receive(peer, message.update);
        return Promise.resolve();
      case 'query-awareness':
        peer.send(this.presence.states(true)!);
        return Promise.resolve();
      case 'auth':
      case 'rejected':
      case 'accepted':
        // Server-to-client messages; a client sending them is confused but harmless.
        return Promise.resolve();
    }
  }

  /**
   * Applies `writes` on behalf of `identity` (REST, backend jobs), judged by the same rules as
   * an update from a socket, as one server transaction that also stamps what it sends; resolves
   * once durable and broadcast, with the stamps of new messages. Throws the rule violation.
   */
  submit(identity: Identity, writes: readonly Write[]): Promise<Stamp[]> {
    return this.enqueue(async () => {
      const grouped = byRoot(writes);
      const now = this.deps.now();
      const rejected = checkWrites({
        doc: this.doc,
        parsed: this.parsed,
        author: identity,
        now,
        lastSeq: this.stamper.lastSeq,
        writes: grouped,
        ...(this.deps.moderation ? { sensitive: this.deps.moderation.sensitive } : {}),
      });
      if (rejected) throw rejected.error;
      const refused = await this.deps.moderation?.admit(identity, this.key, this.doc, {
        writes: grouped,
      });
      if (refused) throw refused.error;
      const { messages } = conversationRoots(this.doc);
      const recalls = [...(grouped.get('messages')?.keys() ?? [])].filter((key) =>
        messages.has(key),
      ) as MessageKey[];
      const notes = systemEvents(this.doc, this.parsed, grouped, identity.id);
      // The writes themselves go in the same server transaction as their stamps.
      const stamps = await this.accept(
        identity,
        { bind: [], writes: grouped, recalls, notes },
        now,
        () => {
          for (const w of writes) this.doc.getMap(w.root).set(w.key, w.value);
        },
      );
      if (this.broken) throw new ConvosyncError('STORAGE_UNAVAILABLE');
      return stamps;
    });
  }

  /**
   * Runs `f` on the document between two queue steps, when every change in it is durable (a
   * step changes the document and only ends once that change is written).
   */
  read<T>(f: (doc: Y.Doc) => T): Promise<T> {
    return this.enqueue(async () => f(this.doc));
  }

  /**
   * Runs `change` as a server transaction (e.g. an inbox entry) and persists and broadcasts what
   * it wrote; `change` returns false when it had nothing to write.
   */
  serverWrite(reason: string, change: (doc: Y.Doc) => boolean): Promise<void> {
    return this.enqueue(async () => {
      let changed = false;
      this.stamper.write(this.doc, { source: 'server', reason } satisfies Origin, () => {
        changed = change(this.doc);
      });
      if (changed) await this.flush();
      if (this.broken) throw new ConvosyncError('STORAGE_UNAVAILABLE');
    });
  }

  /**
   * Writes the server's view of an inbox (its `entries`) in memory: sent to the peers at once,
   * never persisted nor published (inbox-view.ts). `change` returns false when it wrote nothing.
   */
  viewWrite(change: (doc: Y.Doc) => boolean): Promise<void> {
    return this.enqueue(async () => this.writeView(change));
  }

  /**
   * Gives an inbox its view clientID (before any view write) and what is known of earlier views
   * (inbox-view.ts): their clocks join the state vector the room sends, so devices do not send
   * those structs back.
   */
  useView(client: number, earlier: ReadonlyMap<number, number>): void {
    this.viewClient = client;
    for (const [c, clock] of earlier)
      if (c !== client && clock > (this.earlierViews.get(c) ?? 0)) this.earlierViews.set(c, clock);
  }

  /** Every view of this inbox with how far it got: the earlier ones and this one. */
  viewClocks(): Map<number, number> {
    const views = new Map(this.earlierViews);
    if (this.viewClient !== undefined) {
      const clock = Y.getState(this.doc.store, this.viewClient);
      if (clock > 0) views.set(this.viewClient, clock);
    }
    return views;
  }

  /** The state vector a peer is sent: the document's, and how far earlier views got. */
  private announcedState(): Y.Doc | Map<number, number> {
    if (this.earlierViews.size === 0) return this.doc;
    const sv = Y.decodeStateVector(Y.encodeStateVector(this.doc));
    for (const [client, clock] of this.earlierViews)
      if (clock > (sv.get(client) ?? 0)) sv.set(client, clock);
    return sv;
  }

  /**
   * Waits until every queued change is durable, and every compaction queued by then is done: a
   * step queues its recall's compaction behind whatever was queued while it ran (this drain's
   * own marker too), and a caller of drain expects the recalled text gone from disk.
   */
  drain(): Promise<void> {
    return this.enqueue(async () => {}).then(() => this.lastCompaction);
  }

  /** Merges the stored update log (drops deleted content, e.g. recalled text, from disk). */
  compact(): Promise<void> {
    const done = this.enqueueCompaction();
    this.lastCompaction = done.catch(() => undefined);
    return done;
  }

  private enqueueCompaction(): Promise<void> {
    return this.enqueue(async () => {
      try {
        await this.deps.store.compact(this.key);
      } catch (error) {
        this.compaction.failed();
        throw error;
      }
      this.compaction.compacted();
    });
  }

  /** Closes every peer with `error` and releases the document. */
  destroy(error?: ConvosyncError): void {
    for (const peer of [...this.peers]) {
      this.leave(peer);
      if (error) peer.close(error);
    }
    this.presence.destroy();
    this.doc.destroy();
  }

  private async applyFrom(peer: Peer, received: Uint8Array): Promise<void> {
    if (!this.peers.has(peer)) return;
    // A device sends back what earlier views of its inbox wrote: dropped, never persisted.
    const update = this.parsed.type === 'inbox' ? this.withoutView(received) : received;
    const now = this.deps.now();
    const judging = process.hrtime.bigint();
    const verdict = this.deps.filter({
      doc: this.doc,
      parsed: this.parsed,
      identity: peer.identity,
      update,
      now,
      lastSeq: this.stamper.lastSeq,
      awarenessOwners: this.presence.owners,
    });
    this.deps.metrics?.filterSeconds.observe(Number(process.hrtime.bigint() - judging) / 1e9);
    if (!verdict.ok) {
      this.reject(peer, verdict);
      return;
    }
    if (verdict.forwards.length > 0) {
      const bad = await badForward(
        this.doc,
        this.parsed,
        peer.identity,
        verdict,
        this.deps.forwardSource,
      );
      if (bad) {
        this.reject(peer, bad);
        return;
      }
    }
    const refused = await this.deps.moderation?.admit(peer.identity, this.key, this.doc, verdict);
    if (refused) {
      this.reject(peer, refused);
      return;
    }
    const before = peer.acks ? clientStates(this.doc) : undefined;
    // The update and the server's writes that follow it (stamps, bindings) in one transaction:
    // one update event, so the step is one update to persist and send, never two to merge.
    const origin: Origin & { source: 'peer' } = { source: 'peer', peer, received: update };
    const serverClock = Y.getState(this.doc.store, this.doc.clientID);
    let failure: ConvosyncError | undefined;
    let committed: Committed | undefined;
    this.doc.transact((transaction) => {
      try {
        Y.applyUpdate(this.doc, update, origin);
      } catch (cause) {
        // The filter decoded this update fully, so this is a bug, not bad input; the document
        // may hold part of it, so it must not be used any further.
        failure = new ConvosyncError('INTERNAL', 'apply failed after the filter accepted', {
          cause,
        });
        return;
      }
      if (this.doc.store.pendingStructs || this.doc.store.pendingDs) {
        // The filter's dependency check should make this impossible; never keep parked structs.
        failure = new ConvosyncError('INTERNAL', 'an accepted update left pending structs');
        return;
      }
      // Applying a remote update marks the transaction remote, and Yjs gives a remote transaction
      // that moves the document's own clientID a new clientID; the writes below are the server's
      // own, made here on purpose (stamp.ts binds the server's clientID).
      transaction.local = true;
      this.deps.metrics?.updatesAccepted.inc();
      committed = this.commitStep(peer.identity, verdict, now);
      // Read when the transaction ends (the update event), so the step's record names both.
      if (Y.getState(this.doc.store, this.doc.clientID) !== serverClock) origin.stamped = true;
    }, origin);
    if (failure || !committed) {
      this.fail(failure ?? new ConvosyncError('INTERNAL', 'an accepted update was not committed'));
      return;
    }
    await this.carryOut(committed.effects, peer, onlyMembers(verdict));
    // The writer hears its ack and stamps before its socket closes, even when it just left.
    if (before) {
      const frame = acceptedSince(this.doc, before);
      if (frame) peer.send(frame);
    }
    if (verdict.writes.has('members')) this.closeUnreadable();
  }

  /**
   * Drops earlier views' structs from a device's update, and remembers how far those views got
   * on devices, so the next state vector covers them (sent once, not on every reconnect).
   */
  private withoutView(received: Uint8Array): Uint8Array {
    const { rest, viewClocks } = withoutView(received, this.deps.maxStructs ?? 10_000);
    let learned = false;
    for (const [client, clock] of viewClocks) {
      // Only clientIDs below this view's were handed out by this server (others are made up).
      if (this.viewClient === undefined || client >= this.viewClient) continue;
      if (clock <= (this.earlierViews.get(client) ?? 0)) continue;
      this.earlierViews.set(client, clock);
      learned = true;
    }
    if (!learned) return rest;
    // Bounded like what is stored (inbox/views.ts): the latest views only.
    for (const client of [...this.earlierViews.keys()].sort((a, b) => b - a).slice(EARLIER_KEPT))
      this.earlierViews.delete(client);
    this.onEarlierViews(this.earlierViews);
    return rest;
  }

  private writeView(change: (doc: Y.Doc) => boolean): void {
    if (this.outbox.length > 0)
      throw new Error('a view write inside a step with changes to persist');
    // No view clientID yet: the inbox's opening failed before it got one; nothing to show.
    if (this.viewClient === undefined) return;
    const own = this.doc.clientID;
    this.doc.clientID = this.viewClient;
    try {
      this.doc.transact(() => change(this.doc), {
        source: 'server',
        reason: 'inbox-view',
      } satisfies Origin);
    } finally {
      this.doc.clientID = own;
    }
    const batch = this.outbox;
    this.outbox = [];
    if (batch.length === 0 || this.peers.size === 0) return;
    const frame = wire.writeUpdate(
      batch.length === 1 ? batch[0]!.update : Y.mergeUpdates(batch.map((b) => b.update)),
    );
    for (const peer of this.peers) peer.send(frame);
  }

  /**
   * Accepted writes: the commit's server transaction, then its effects in order: the step is
   * persisted, published and broadcast; sockets that may no longer read are closed (after the
   * broadcast when the step only changed membership, so a removed member's device holds its
   * removal, else before it; `writer` is closed by its caller once its ack is out); the log is
   * compacted after a recall.
   */
  private async accept(
    author: Identity,
    plan: CommitPlan,
    now: number,
    apply?: () => void,
    writer?: Peer,
  ): Promise<Stamp[]> {
    const { stamps, effects } = this.commitStep(author, plan, now, apply);
    await this.carryOut(effects, writer, onlyMembers(plan));
    return stamps;
  }

  /** The commit's server transaction, and the step's record for the feed. */
  private commitStep(
    author: Identity,
    plan: CommitPlan,
    now: number,
    apply?: () => void,
  ): Committed {
    const committed = commit(
      {
        doc: this.doc,
        parsed: this.parsed,
        stamper: this.stamper,
        ids: this.deps.ids,
        ...(this.deps.moderation ? { moderation: this.deps.moderation } : {}),
      },
      author,
      plan,
      now,
      apply,
    );
    this.deps.metrics?.messagesAccepted.inc(committed.stamps.length - plan.notes.length);
    this.record = {
      at: now,
      author: author.id,
      messages: committed.stamped,
      members: [...(plan.writes.get('members')?.keys() ?? [])],
      reads: readsOf(plan.writes.get('reads')),
      profiles: [...(plan.writes.get('profiles') ?? [])],
      notes: plan.notes,
    };
    return committed;
  }

  private async carryOut(
    effects: CommitEffects,
    writer?: Peer,
    removedHearIt = false,
  ): Promise<void> {
    if (effects.censored) this.censored = true;
    if (effects.closeUnreadable && !removedHearIt) this.closeUnreadable(writer);
    await this.flush();
    // Nothing later reaches them: the next step waits behind this one.
    if (effects.closeUnreadable && removedHearIt) this.closeUnreadable(writer);
    if (effects.compact) {
      void this.compact().catch((error) =>
        this.deps.log.warn('compaction after recall failed', { room: this.key, error }),
      );
    }
  }

  private reject(peer: Peer, rejection: Rejection): void {
    this.deps.metrics?.updatesRejected.inc({ code: rejection.error.code });
    this.deps.log.info('update rejected', {
      room: this.key,
      identity: peer.identity.id,
      code: rejection.error.code,
      reason: rejection.error.message,
      clientId: rejection.clientId,
      clock: rejection.clock,
    });
    this.leave(peer);
    peer.send(wire.writeRejected(rejection.error.code, rejection.clientId, rejection.clock));
    peer.close(rejection.error);
  }

  /**
   * Closes, at once, the sockets of identities that may no longer read (removed, exited), except
   * `writer`, closed by its caller once its ack is out.
   */
  private closeUnreadable(writer?: Peer): void {
    for (const peer of [...this.peers]) {
      if (peer === writer || canRead(this.doc, this.parsed, peer.identity)) continue;
      this.leave(peer);
      peer.close(
        new ConvosyncError(
          'NOT_MEMBER',
          `${peer.identity.id} is no longer a member of ${this.key}`,
        ),
      );
    }
  }

  /** The counterpart of a private chat is written with type 0 until it first connects. */
  private async learnIdentityType(identity: Identity): Promise<void> {
    const member = getMember(this.doc, identity.id);
    if (member?.identityType !== 0 || identity.type === 0) return;
    this.stamper.write(
      this.doc,
      { source: 'server', reason: 'identity-type' } satisfies Origin,
      () =>
        conversationRoots(this.doc).members.set(identity.id, {
          ...member,
          identityType: identity.type,
        }),
    );
    this.record = { ...NOTHING_ACCEPTED, members: [identity.id] };
    await this.flush();
  }

  private refuseAwareness(peer: Peer, error: ConvosyncError): void {
    this.deps.log.info('awareness rejected', {
      room: this.key,
      identity: peer.identity.id,
      code: error.code,
      reason: error.message,
    });
    this.leave(peer);
    peer.close(error);
  }

  /** Persists what the last step changed as one record, then publishes and broadcasts it. */
  private async flush(): Promise<void> {
    const batch = this.outbox;
    this.outbox = [];
    const record = this.record;
    this.record = NOTHING_ACCEPTED;
    if (batch.length === 0) return;
    // A censoring step: the client's own update holds the words, so what the document holds now
    // is persisted and sent instead, to the sender too (its view becomes the censored one).
    const censored = this.censored;
    this.censored = false;
    const merged = censored
      ? redactedUpdate(
          this.doc,
          batch.map((b) => b.update),
        )
      : batch.length === 1
        ? batch[0]!.update
        : Y.mergeUpdates(batch.map((b) => b.update));
    const persisting = process.hrtime.bigint();
    try {
      await this.deps.store.append(this.key, merged);
      this.deps.metrics?.persistSeconds.observe(Number(process.hrtime.bigint() - persisting) / 1e9);
    } catch (cause) {
      // A fenced append (cluster mode: another node owns the log now) says so; both are 4503.
      this.fail(
        cause instanceof ConvosyncError && cause.code === 'FENCED'
          ? cause
          : new ConvosyncError('STORAGE_UNAVAILABLE', undefined, { cause }),
      );
      return;
    }
    this.deps.feed.publish({
      doc: this.key,
      update: merged,
      origins: batch.flatMap((b) => changeOrigins(b.origin)),
      ...record,
      at: record.at ?? this.deps.now(),
    });
    this.broadcast(
      merged,
      // A writer whose update carries its stamps hears the whole step, as the stock y-websocket
      // server echoes every update to its sender (Yjs skips what it already has): one encoding
      // for every peer instead of a second one of the stamps alone.
      censored
        ? []
        : batch.flatMap((b) =>
            b.origin.source === 'peer' && !b.origin.stamped ? [b.origin.peer] : [],
          ),
      batch,
    );
    if (this.compaction.appended(merged.byteLength)) {
      // Queued behind the current step; a failure is logged, the log is merely longer.
      void this.compact().catch((error) =>
        this.deps.log.warn('compaction failed', { room: this.key, error }),
      );
    }
  }

  /**
   * One frame per step to each peer: every peer hears the whole step (the client's update with
   * its stamps) as one update, the writer of a small stamped update too (see `flush`; of a large
   * one, only what it did not send). `writers` are
   * peers whose update the server wrote nothing after (a read position): they hear only what
   * they did not write, nothing when that is all. A censored step goes to all.
   */
  private broadcast(
    merged: Uint8Array,
    writers: readonly Peer[],
    batch: ReadonlyArray<{ update: Uint8Array; origin: Origin }>,
  ): void {
    if (this.peers.size === 0) return;
    const frame = wire.writeUpdate(merged);
    for (const peer of this.peers) {
      if (!writers.includes(peer)) {
        const own = merged.byteLength > ECHO_MAX_BYTES ? receivedFrom(batch, peer) : undefined;
        // A large step is not echoed to its writer: it hears its stamps alone (one more parse
        // of the step), so a writer of big updates is not charged twice their bytes, nor taken
        // for a slow reader while it sends.
        peer.send(own ? wire.writeUpdate(Y.diffUpdate(merged, Y.encodeStateVector(own))) : frame);
        continue;
      }
      const rest = batch.filter((b) => !(b.origin.source === 'peer' && b.origin.peer === peer));
      if (rest.length === 0) continue;
      peer.send(
        wire.writeUpdate(
          rest.length === 1 ? rest[0]!.update : Y.mergeUpdates(rest.map((b) => b.update)),
        ),
      );
    }
  }

  /** Drops the room: its peers are closed with `error` (also cluster mode's lost ownership). */
  fail(error: ConvosyncError): void {
    if (this.broken) return;
    this.broken = true;
    this.deps.log.error('room failed, dropping it', { room: this.key, error });
    this.onDrop(this);
    this.destroy(error);
  }

  private enqueue<T = void>(step: () => Promise<T>): Promise<T> {
    const run = async () => {
      if (this.broken)
        throw new ConvosyncError('STORAGE_UNAVAILABLE', 'room was dropped after a storage failure');
      return step();
    };
    const result = this.queue.then(run);
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/**
 * Steps up to this size go to their writer whole, like the stock server's echo (cheaper than a
 * second encoding); a larger one is cut down to what the writer did not send.
 */
const ECHO_MAX_BYTES = 4096;

/** Where `peer`'s stamped update in this batch ends, per client; undefined if it wrote none. */
function receivedFrom(
  batch: ReadonlyArray<{ origin: Origin }>,
  peer: Peer,
): Map<number, number> | undefined {
  let own: Map<number, number> | undefined;
  for (const { origin } of batch) {
    if (origin.source !== 'peer' || origin.peer !== peer || !origin.received) continue;
    own ??= new Map();
    for (const [client, clock] of Y.parseUpdateMeta(origin.received).to)
      own.set(client, Math.max(clock, own.get(client) ?? 0));
  }
  return own;
}

/** The serializable form of an origin: a peer by its identity (and the stamps it carries). */
function changeOrigins(origin: Origin): ChangeOrigin[] {
  if (origin.source === 'server') return [{ source: 'server', reason: origin.reason }];
  const peer: ChangeOrigin = { source: 'peer', identity: origin.peer.identity.id };
  return origin.stamped ? [peer, { source: 'server', reason: 'stamp' }] : [peer];
}

/**
 * A step that changes only membership goes to a removed member's devices too, so they hold
 * their removal ("you were removed", offline and after a reload). A step with anything else (an
 * offline batch: "remove carol", then a message about her) must not reach them: their sockets
 * close first, and they learn it from the NOT_MEMBER refusal.
 */
function onlyMembers(plan: Pick<CommitPlan, 'writes'>): boolean {
  return [...plan.writes.keys()].every((root) => root === 'members');
}

/** Read positions written: read key → seq (other values are not positions). */
function readsOf(
  reads: ReadonlyMap<string, unknown> | undefined,
): Array<readonly [string, number]> {
  const moved: Array<readonly [string, number]> = [];
  for (const [key, value] of reads ?? []) if (typeof value === 'number') moved.push([key, value]);
  return moved;
}
