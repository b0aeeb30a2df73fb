/**
 * @module One conversation document on the server, a small core: a queue of steps, the peers,
 * and apply → commit → persist → publish. Incoming updates are applied one at a time; those that
 * queued up behind a write are then persisted together as one append (`applyInbound`).
 *
 * Every change to the document happens inside the room's queue, and the queue only moves on once
 * the change is durable. So the document never holds state that is not on disk, and nothing is
 * broadcast (acknowledged) or published to the feed before it is on disk (invariant 4). A failed
 * write poisons the room: its connections are closed with a retryable code and the in-memory
 * copy is discarded, so the next load starts again from what is really on disk.
 *
 * Around the core: a peer's update is judged in judge.ts (filter, forwards, moderation), REST
 * writes in submit.ts; `commit` writes the server's part of a step and returns what must follow
 * (commit.ts); broadcast.ts says who hears a step, step-record.ts what the feed hears. Presence
 * lives in awareness.ts, acks in authorship.ts, an inbox's in-memory view in inbox-view.ts, the
 * genesis of deterministic conversations in genesis.ts. Everything after durability reads the
 * feed (server/feed/).
 */
import type * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { hasGenesis, lastSeq } from '../../shared/conversation.js';
import { ConversationType } from '../../shared/enums.js';
import { ConvosyncError } from '../../shared/errors.js';
import type { DocName, ParsedDoc } from '../../shared/keys.js';
import type { IncomingMessage } from '../../shared/protocol/sync.js';
import * as wire from '../../shared/protocol/sync.js';
import { canRead } from '../../shared/rules/access.js';
import type { Write } from '../../shared/rules/context.js';
import { conversationRoots, inboxRoots, type Stamp } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import type { Feed } from '../feed/types.js';
import type { Logger } from '../log.js';
import type { IdGenerator } from '../message-ids.js';
import type { Metrics } from '../metrics.js';
import type { Moderation } from '../moderation/moderation.js';
import { redactedUpdate } from '../moderation/redact.js';
import { CompactionPolicy } from '../store/compaction.js';
import type { CurrentState, DocStore } from '../store/types.js';
import { acceptedIn, acceptedOwnWrites } from './authorship.js';
import { RoomAwareness } from './awareness.js';
import { broadcast, oneUpdate, removedHearIt } from './broadcast.js';
import {
  type CommitContext,
  type CommitEffects,
  type CommitPlan,
  type Committed,
  commit,
} from './commit.js';
import type { FilterInput, Rejection, Verdict } from './filter.js';
import type { ForwardSource } from './forward.js';
import { deletesKeptContent, FullStates, positionMaps } from './full-state.js';
import { ensureGenesis, learnIdentityType } from './genesis.js';
import { InboxView } from './inbox-view.js';
import { type JudgeContext, judgeUpdate } from './judge.js';
import type { Origin, Peer, StepUpdate } from './peer.js';
import { createStamper, resumeServerClient, type Stamper } from './stamp.js';
import { changeOf, NOTHING_ACCEPTED, recordOf, type StepRecord } from './step-record.js';
import { alreadySent, applyWrites, judgeSubmitted } from './submit.js';

// Callers (socket.ts, cluster/relay.ts) name a joined socket as the room's.
export type { Peer } from './peer.js';

/**
 * Peer updates written as one append at most (applyInbound), and their bytes: an update past
 * that is written alone, as before. Groups are for the many small updates of a busy chat; a
 * group of large ones would also put several large frames at once on every socket (the
 * outbound budget counts them until the kernel takes them).
 */
const MAX_STEPS_PER_APPEND = 64;
const MAX_APPEND_BYTES = 64 * 1024;

/** A step's update events, and the update persisted, published and sent for them (`write`). */
interface StepWrite {
  readonly outbox: StepUpdate[];
  readonly update: Uint8Array;
  readonly record: StepRecord;
  readonly censored: boolean;
}

/** A peer's update applied in memory, waiting for its group's append (applyInbound). */
interface AppliedStep extends StepWrite {
  readonly peer: Peer;
  readonly effects: CommitEffects;
  readonly removedHearIt: boolean;
  /** It changed membership: sockets that may no longer read close after its broadcast. */
  readonly membership: boolean;
  readonly ack: Uint8Array | undefined;
}

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
  /**
   * Random, drawn once per server: with a document's name, it makes the server's clientID in
   * that document, the same at every load by this server, another in the next (stamp.ts).
   */
  epoch: Uint8Array;
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
  /** Whole-document encodings kept for clients that arrive with nothing (full-state.ts). */
  fullStates?: FullStates;
}

export class Room {
  readonly key: DocName;
  readonly parsed: ParsedDoc;
  readonly doc: Y.Doc;
  private readonly peers = new Set<Peer>();
  private readonly presence: RoomAwareness<Peer>;
  private readonly deps: RoomDeps;
  private readonly stamper: Stamper;
  /** What judges a peer's update, and what `commit` writes with: the same for every step. */
  private readonly judging: JudgeContext;
  private readonly commits: CommitContext;
  /** An inbox's in-memory view (every room has one; only an inbox's is ever given a clientID). */
  private readonly view: InboxView;
  private queue: Promise<void> = Promise.resolve();
  /** Peer updates received while a step of theirs is queued: that step takes them all. */
  private inbound: Array<{ peer: Peer; update: Uint8Array }> = [];
  private inboundQueued = false;
  private outbox: StepUpdate[] = [];
  private record: StepRecord = NOTHING_ACCEPTED;
  private readonly compaction: CompactionPolicy;
  private lastCompaction: Promise<void> = Promise.resolve();
  private detached = false;
  /** Loaded while an unloaded room of the document may still be writing (Room.load). */
  private unsettled = false;
  /** Whole-document encodings for clients that arrive with nothing (conversations only). */
  private readonly fullStates: FullStates | undefined;
  /** The current step overwrote new messages with their censored copies (see `flush`). */
  private censored = false;
  private broken = false;
  /** Set by `stopInput` (a shutdown): joins and writes are refused with it. */
  private stopped: ConvosyncError | undefined;
  /** Called when a device sent structs of an earlier view beyond what the room knew. */
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
    this.commits = { ...deps, doc, parsed, stamper: this.stamper };
    this.view = new InboxView(doc, deps.maxStructs ?? 10_000, (views) =>
      this.onEarlierViews(views),
    );
    this.presence = new RoomAwareness<Peer>(doc, {
      maxBytes: deps.maxAwarenessBytes,
      fanoutMs: deps.awarenessFanoutMs ?? 200,
      floorMs: deps.awarenessFloorMs ?? 250,
      peers: () => this.peers,
      refuse: (peer, error) => this.refuseAwareness(peer, error),
    });
    this.judging = { ...deps, doc, parsed, awarenessOwners: this.presence.owners };
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      this.outbox.push({ update, origin: origin as Origin });
    });
    // Conversations only: an inbox's sync step 2 depends on the view of the device asking.
    const states = parsed.type === 'inbox' ? undefined : deps.fullStates;
    this.fullStates = states;
    if (states) {
      const positions = positionMaps(doc);
      doc.on('afterTransaction', (transaction: Y.Transaction) => {
        if (deletesKeptContent(transaction, positions)) states.drop(this);
      });
    }
  }

  /**
   * Loads the room of `parsed`. `unsettled`: an unloaded room of this document may still have a
   * write on its way to the store (Rooms gave up waiting for it), which this room's document
   * lacks. It serves reads and writes nothing (a write fails the room, its clients reconnect):
   * stamping without that write would give its seq out twice. Rooms drops it once that write is
   * done, so the next load holds it. It never goes on with the server's clientID, and compacts
   * from disk only.
   */
  static async load(
    parsed: ParsedDoc,
    deps: RoomDeps,
    options: { unsettled?: boolean } = {},
  ): Promise<Room> {
    const updates = await deps.store.load(parsed.key);
    // The guid names the room: Yjs would otherwise draw a random uuid (31 reads of the CSPRNG).
    const doc = new Y.Doc({ gc: true, guid: parsed.key });
    // Define every root before any update can create one.
    const inbox = parsed.type === 'inbox';
    if (inbox) inboxRoots(doc);
    else conversationRoots(doc);
    // A log of one update that deleted no content as it loaded (a compacted log) is the whole
    // state as it stands: it is kept as the encoding for clients holding nothing (full-state.ts).
    const seed = !inbox && deps.fullStates && updates.length === 1 ? updates[0] : undefined;
    let seedable = seed !== undefined;
    const check = (transaction: Y.Transaction) => {
      if (deletesKeptContent(transaction, positionMaps(doc))) seedable = false;
    };
    if (seed) doc.on('afterTransaction', check);
    doc.transact(() => {
      for (const update of updates) Y.applyUpdate(doc, update);
    });
    if (seed) doc.off('afterTransaction', check);
    if (doc.store.pendingStructs || doc.store.pendingDs) {
      throw new ConvosyncError(
        'INTERNAL',
        `stored document ${parsed.key} has missing dependencies`,
      );
    }
    if (!inbox && !options.unsettled) resumeServerClient(doc, parsed.key, deps.epoch);
    const room = new Room(parsed, doc, deps, updates);
    room.unsettled = options.unsettled === true;
    if (seed && seedable) deps.fullStates!.seed(room, seed, doc);
    return room;
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

  /** Loaded before an earlier room's write was done: reads only (Room.load). */
  get isUnsettled(): boolean {
    return this.unsettled;
  }

  /** Creates a deterministic conversation the first time `identity` may open it (genesis.ts). */
  ensureGenesis(identity: Identity): Promise<void> {
    return this.enqueue(async () => {
      if (this.stopped) throw this.stopped;
      const members = ensureGenesis({ ...this.commits, now: this.deps.now }, identity);
      if (!members) return;
      this.record = { ...NOTHING_ACCEPTED, members: [...members] };
      await this.flush();
    });
  }

  /** Admits a peer that may read the conversation, and starts the sync handshake. */
  join(peer: Peer): Promise<void> {
    return this.enqueue(async () => {
      if (this.stopped) throw this.stopped;
      // Unloaded while this join waited (a socket between Rooms.open and its join is no peer
      // yet, so the idle timer may take the room): joined here, it would hear nothing more, and
      // the unload's destroy would drop it without a close. Its client reconnects instead.
      if (this.detached)
        throw new ConvosyncError('STORAGE_UNAVAILABLE', `${this.key} was unloaded, retry`);
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
      if (learnIdentityType(this.doc, this.stamper, peer.identity)) {
        this.record = { ...NOTHING_ACCEPTED, members: [peer.identity.id] };
        await this.flush();
        // Its write failed: the room is dropped and its peers closed; this one must not join it.
        if (this.broken) throw new ConvosyncError('STORAGE_UNAVAILABLE');
        if (this.stopped) throw this.stopped; // stopped while that write was on its way
      }
      this.peers.add(peer);
      const states = this.presence.join(peer);
      peer.send(wire.writeSyncStep1(Y.encodeStateVector(this.view.announcedState())));
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
          const states = this.fullStates;
          if (states && FullStates.isEmpty(message.stateVector))
            for (const frame of states.framesFor(this, this.doc)) peer.send(frame);
          else peer.send(wire.writeSyncStep2(Y.encodeStateAsUpdate(this.doc, message.stateVector)));
        });
      case 'sync-step2':
      case 'update':
        this.inbound.push({ peer, update: message.update });
        if (this.inboundQueued) return Promise.resolve();
        this.inboundQueued = true;
        return this.enqueue(() => this.applyInbound());
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
   * an update from a socket (submit.ts), as one server transaction that also stamps what it
   * sends; resolves once durable and broadcast, with the stamps of new messages. Throws the rule
   * violation.
   */
  submit(identity: Identity, writes: readonly Write[]): Promise<Stamp[]> {
    return this.enqueue(async () => {
      // In the queue, so a retry racing its first send sees it done or does it itself.
      const again = alreadySent(this.doc, identity, writes);
      if (again) return again;
      if (this.stopped) throw this.stopped;
      const now = this.deps.now();
      const plan = await judgeSubmitted(
        { ...this.commits, lastSeq: this.stamper.lastSeq },
        identity,
        writes,
        now,
      );
      // The writes themselves go in the same server transaction as their stamps.
      const { stamps, effects } = this.commitStep(identity, plan, now, () =>
        applyWrites(this.doc, writes),
      );
      await this.carryOut(effects, removedHearIt(plan));
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
      if (this.stopped) throw this.stopped;
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
    return this.enqueue(async () => {
      if (this.outbox.length > 0)
        throw new Error('a view write inside a step with changes to persist');
      this.view.write(change);
      const batch = this.outbox;
      this.outbox = [];
      if (batch.length === 0 || this.peers.size === 0) return;
      const frame = wire.writeUpdate(oneUpdate(batch));
      for (const peer of this.peers) peer.send(frame);
    });
  }

  /**
   * Gives an inbox its view clientID (before any view write) and what is known of earlier views
   * (inbox-view.ts): their clocks join the state vector the room sends, so devices do not send
   * those structs back.
   */
  useView(client: number, earlier: ReadonlyMap<number, number>): void {
    this.view.use(client, earlier);
  }

  /** Every view of this inbox with how far it got: the earlier ones and this one. */
  viewClocks(): Map<number, number> {
    return this.view.clocks();
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
    let written: Promise<void> = Promise.resolve();
    // The merge takes its place in the log when asked for (DocStore.compact), so the room goes
    // on at once: the next step may append while the merged document (megabytes for a long
    // conversation) is replayed and written.
    const done = this.enqueue(async () => {
      this.compaction.taken(); // what it merges: everything appended so far
      try {
        written = this.deps.store.compact(this.key, this.storedState());
      } catch (error) {
        written = Promise.reject(error);
      }
      const settled = () => this.compaction.settled();
      void written.then(settled, settled);
    }).then(() => written);
    this.lastCompaction = done.catch(() => undefined);
    return done;
  }

  /**
   * Rooms hands this room out no more (unloaded, dropped): a newer load of its key may append to
   * the same log, so its document no longer stands for what is stored.
   */
  detach(): void {
    this.detached = true;
  }

  /** Settles once every step queued so far has run (its append durable, or failed). */
  queued(): Promise<void> {
    return this.queue;
  }

  /**
   * The document as stored, from memory, for a compaction: a queue step runs after every
   * earlier step's append is durable, and a conversation's document holds nothing else. Not an
   * inbox's (its view is never stored), a broken room's (its last step may not be on disk) nor
   * a detached or unsettled one's: the store merges what it holds.
   */
  private storedState(): CurrentState | undefined {
    if (
      this.parsed.type === 'inbox' ||
      this.broken ||
      this.detached ||
      this.unsettled ||
      this.outbox.length > 0
    )
      return undefined;
    return {
      bytes: this.compaction.storedBytes,
      encode: () => ({
        update: Y.encodeStateAsUpdate(this.doc),
        stateVector: Y.encodeStateVector(this.doc),
      }),
    };
  }

  /**
   * A shutdown's first half for this room: its peers are closed with `error`, and from now on
   * nobody joins and nothing is written (a socket that was still opening, a REST call, a write
   * relayed from another node: each is refused with `error`, and its client tries again later or
   * elsewhere). The room stays loaded for reads: the shutdown's last inbox passes, projections.
   */
  stopInput(error: ConvosyncError): void {
    this.stopped = error;
    this.closePeers(error);
  }

  /** Closes every peer with `error`. */
  private closePeers(error?: ConvosyncError): void {
    for (const peer of [...this.peers]) {
      this.leave(peer);
      if (error) peer.close(error);
    }
  }

  /** Closes every peer with `error` and releases the document. */
  destroy(error?: ConvosyncError): void {
    this.closePeers(error);
    this.presence.destroy();
    this.fullStates?.drop(this);
    this.doc.destroy();
  }

  /** Drops the room: its peers are closed with `error` (also cluster mode's lost ownership). */
  fail(error: ConvosyncError): void {
    if (this.broken) return;
    this.broken = true;
    this.deps.log.error('room failed, dropping it', { room: this.key, error });
    this.onDrop(this);
    this.destroy(error);
  }

  /**
   * One queue step for the peer updates that arrived while it waited (at most
   * MAX_STEPS_PER_APPEND; the rest queue another). Each is judged and applied in turn exactly as
   * alone (the next is judged against the document the previous one left, its stamps follow
   * theirs), and then the group is persisted as ONE append, and published and broadcast step by
   * step, in order. So under load a room pays one write (one LevelDB batch, or one Postgres
   * INSERT and commit in cluster mode) per group of updates instead of one per update, and one
   * room's rate is no longer one update per write latency. Nothing is acknowledged, broadcast
   * or published before the group is durable. A refused update, or one that changes membership
   * (whose sockets close around its broadcast), first has the group before it written and
   * broadcast, so every peer hears what it heard before; a membership change is then written
   * on its own.
   */
  private async applyInbound(): Promise<void> {
    this.inboundQueued = false;
    const arrived = this.inbound.splice(0, MAX_STEPS_PER_APPEND);
    if (this.inbound.length > 0) {
      this.inboundQueued = true;
      // A broken room has closed every peer already (fail): nothing is left to tell.
      this.enqueue(() => this.applyInbound()).catch((error: unknown) => {
        if (!this.broken) this.deps.log.error('queued updates failed', { room: this.key, error });
      });
    }
    let group: AppliedStep[] = [];
    let bytes = 0;
    const persist = async () => {
      const steps = group;
      group = [];
      bytes = 0;
      try {
        await this.persistSteps(steps);
      } catch (cause) {
        // Not a storage error (persistSteps fails the room on those itself): a bug. Whether or
        // not the steps reached the disk, the document must be read again from it.
        this.fail(new ConvosyncError('INTERNAL', 'a group of steps was not written', { cause }));
      }
      return !this.broken;
    };
    try {
      for (const { peer, update: received } of arrived) {
        if (this.broken) return;
        if (!this.peers.has(peer)) continue;
        const now = this.deps.now();
        let update: Uint8Array;
        let verdict: Verdict;
        try {
          // A device sends back what earlier views of its inbox wrote: dropped, never persisted.
          update = this.parsed.type === 'inbox' ? this.view.withoutEarlier(received) : received;
          verdict = await judgeUpdate(
            this.judging,
            peer.identity,
            update,
            now,
            this.stamper.lastSeq,
          );
        } catch (error) {
          // Judging needed something that failed (a forward's source could not be loaded, Redis
          // away in cluster mode): this update's socket closes, as when it stood alone, after
          // the group before it is written; the updates after it go on.
          if (!(await persist())) return;
          this.deps.log.warn('update could not be judged', { room: this.key, error });
          this.leave(peer);
          peer.close(
            error instanceof ConvosyncError
              ? error
              : new ConvosyncError('INTERNAL', undefined, { cause: error }),
          );
          continue;
        }
        const membership = verdict.ok && verdict.writes.has('members');
        if ((!verdict.ok || membership) && !(await persist())) return;
        if (!verdict.ok) {
          this.reject(peer, verdict);
          continue;
        }
        const step = this.applyJudged(peer, update, verdict, now);
        if (!step) return; // the room failed
        group.push(step);
        bytes += step.update.byteLength;
        if ((membership || bytes >= MAX_APPEND_BYTES) && !(await persist())) return;
      }
      await persist();
    } catch (error) {
      // Steps applied in memory that will not be written must not stay in the document (the
      // next update would be written after them, with a gap below it on disk).
      if (group.length > 0)
        this.fail(
          new ConvosyncError('INTERNAL', 'a group of steps was not written', { cause: error }),
        );
      throw error;
    }
  }

  /**
   * Applies an accepted update and the server's writes that follow it (stamps, bindings) in one
   * transaction, in memory: the step to persist. Undefined when the room failed.
   */
  private applyJudged(
    peer: Peer,
    update: Uint8Array,
    verdict: Extract<Verdict, { ok: true }>,
    now: number,
  ): AppliedStep | undefined {
    // The update and the server's writes that follow it (stamps, bindings) in one transaction:
    // one update event, so the step is one update to persist and send, never two to merge.
    const origin: Origin & { source: 'peer' } = { source: 'peer', peer, received: update };
    const serverClock = Y.getState(this.doc.store, this.doc.clientID);
    let failure: ConvosyncError | undefined;
    let committed: Committed | undefined;
    // The outermost transaction (applyInbound runs outside any): Yjs has set its afterState by
    // the time transact returns, which the writer's ack reads.
    let applied: Y.Transaction | undefined;
    this.doc.transact((transaction) => {
      applied = transaction;
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
      return undefined;
    }
    const { effects } = committed;
    const hearIt = removedHearIt(verdict);
    if (effects.closeUnreadable && !hearIt) this.closeUnreadable(peer);
    return {
      ...this.takeStep(effects.censored),
      peer,
      effects,
      removedHearIt: hearIt,
      membership: verdict.writes.has('members'),
      // The writer's ack names what this step accepted (sent once it is durable).
      ack: peer.acks && applied ? acceptedIn(applied) : undefined,
    };
  }

  /**
   * Writes `steps` as one append, then publishes and broadcasts each in order, then what each
   * step does after its broadcast (closes, a recall's compaction, the writer's ack).
   */
  private async persistSteps(steps: readonly AppliedStep[]): Promise<void> {
    if (steps.length === 0 || !(await this.write(steps))) return;
    for (const s of steps) {
      this.afterBroadcast(s.effects, s.removedHearIt, s.peer);
      // The writer hears its ack and stamps before its socket closes, even when it just left.
      if (s.ack) s.peer.send(s.ack);
      if (s.membership) this.closeUnreadable();
    }
  }

  /** The commit's server transaction (commit.ts), and the step's record for the feed. */
  private commitStep(
    author: Identity,
    plan: CommitPlan,
    now: number,
    apply?: () => void,
  ): Committed {
    const committed = commit(this.commits, author, plan, now, apply);
    this.deps.metrics?.messagesAccepted.inc(committed.stamps.length - plan.notes.length);
    this.record = recordOf(author, plan, committed, now);
    return committed;
  }

  /**
   * The commit's effects, in order: sockets that may no longer read are closed (after the
   * broadcast when `removedHearIt`, else before it; `writer` is closed by its caller once its ack
   * is out), the step is persisted, published and broadcast, the log is compacted after a recall.
   */
  private async carryOut(
    effects: CommitEffects,
    removedHearIt: boolean,
    writer?: Peer,
  ): Promise<void> {
    if (effects.censored) this.censored = true;
    if (effects.closeUnreadable && !removedHearIt) this.closeUnreadable(writer);
    await this.flush();
    this.afterBroadcast(effects, removedHearIt, writer);
  }

  /**
   * What a durable, broadcast step does after: the sockets its removal closes once they heard
   * it (nothing later reaches them: the next step waits behind this one), and the log's
   * compaction after a recall.
   */
  private afterBroadcast(effects: CommitEffects, removedHearIt: boolean, writer?: Peer): void {
    if (effects.closeUnreadable && removedHearIt) this.closeUnreadable(writer);
    if (effects.compact) {
      void this.compact().catch((error) =>
        this.deps.log.warn('compaction after recall failed', { room: this.key, error }),
      );
    }
  }

  /** Persists what the last step changed as one record, then publishes and broadcasts it. */
  private async flush(): Promise<void> {
    const step = this.takeStep(this.censored);
    this.censored = false;
    await this.write([step]);
  }

  /**
   * The current step's update events and record, taken for writing, with the update that is
   * persisted and sent for them, fixed now (before a later step changes the document): a
   * censoring step's own update holds the words, so the document's view of it goes instead, to
   * its writer too (its view becomes the censored one).
   */
  private takeStep(censored: boolean): StepWrite {
    const outbox = this.outbox;
    this.outbox = [];
    const record = this.record;
    this.record = NOTHING_ACCEPTED;
    const update =
      outbox.length === 0
        ? new Uint8Array(0)
        : censored
          ? redactedUpdate(
              this.doc,
              outbox.map((b) => b.update),
            )
          : oneUpdate(outbox);
    return { outbox, update, record, censored };
  }

  /**
   * Persists the steps that changed anything as one append, then publishes and broadcasts each,
   * in order. False when the write failed: the room is dropped (a fenced append, in cluster mode
   * another node owning the log now, says so; both are 4503).
   */
  private async write(steps: readonly StepWrite[]): Promise<boolean> {
    const written = steps.filter((s) => s.outbox.length > 0);
    if (written.length === 0) return true;
    if (this.detached || this.unsettled) {
      // Unloaded: a newer room of this document may be writing, with the same server clientID.
      // Unsettled: an earlier room's write this document lacks is still on its way.
      this.fail(
        new ConvosyncError(
          'STORAGE_UNAVAILABLE',
          `${this.key} ${this.detached ? 'was unloaded' : 'is still storing earlier writes'}, retry`,
        ),
      );
      return false;
    }
    const merged =
      written.length === 1 ? written[0]!.update : Y.mergeUpdates(written.map((s) => s.update));
    const persisting = process.hrtime.bigint();
    try {
      await this.deps.store.append(this.key, merged);
      this.deps.metrics?.persistSeconds.observe(Number(process.hrtime.bigint() - persisting) / 1e9);
    } catch (cause) {
      this.fail(
        cause instanceof ConvosyncError && cause.code === 'FENCED'
          ? cause
          : new ConvosyncError('STORAGE_UNAVAILABLE', undefined, { cause }),
      );
      return false;
    }
    for (const s of written) {
      this.deps.feed.publish(changeOf(this.key, s.update, s.outbox, s.record, this.deps.now));
      broadcast(this.peers, s.update, s.outbox, s.censored);
    }
    if (this.compaction.appended(merged.byteLength)) {
      // Queued behind the current step; a failure is logged, the log is merely longer.
      void this.compact().catch((error) =>
        this.deps.log.warn('compaction failed', { room: this.key, error }),
      );
    }
    return true;
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
