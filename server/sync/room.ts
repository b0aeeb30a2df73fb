/**
 * @module One conversation document on the server: load -> filter -> apply -> server writes ->
 * persist -> broadcast, one incoming message at a time.
 *
 * Every change to the document happens inside the room's queue, and the queue only moves on once
 * the change is durable. So the document never holds state that is not on disk, and nothing is
 * broadcast (acknowledged) before it is on disk (invariant 4). A failed write poisons the room:
 * its connections are closed with a retryable code and the in-memory copy is discarded, so the
 * next load starts again from what is really on disk.
 */
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import {
  genesisMembers,
  getMember,
  hasGenesis,
  lastSeq,
  unstampedKeys,
  writeGenesis,
} from '../../shared/conversation.js';
import {
  ConversationType,
  MemberRole,
  MemberStatus,
  MessageFormat,
  PlatformRole,
} from '../../shared/enums.js';
import { ConvosyncError } from '../../shared/errors.js';
import { type MessageKey, newMessageKey } from '../../shared/ids.js';
import type { DocName, ParsedDoc } from '../../shared/keys.js';
import { forwardRefusal } from '../../shared/message.js';
import type { IncomingMessage } from '../../shared/protocol/sync.js';
import * as wire from '../../shared/protocol/sync.js';
import { activeRole, canRead } from '../../shared/rules/access.js';
import { byRoot, type Write } from '../../shared/rules/context.js';
import { checkWrites } from '../../shared/rules/writes.js';
import {
  conversationRoots,
  inboxRoots,
  type Message,
  type RootName,
  type Stamp,
  type SystemEvent,
} from '../../shared/schema.js';
import { describeSystemEvent, systemEvents } from '../../shared/system-events.js';
import type { Identity } from '../auth/identity.js';
import type { Logger } from '../log.js';
import type { IdGenerator } from '../message-ids.js';
import type { Metrics } from '../metrics.js';
import type { Moderation } from '../moderation/moderation.js';
import { redactedUpdate } from '../moderation/redact.js';
import { CompactionPolicy } from '../store/compaction.js';
import type { DocStore } from '../store/types.js';
import { withoutEchoes } from './awareness-echoes.js';
import { AwarenessFanout } from './awareness-fanout.js';
import { AwarenessFloor, encodeEntries } from './awareness-floor.js';
import { type AwarenessEntry, checkAwareness, readAwarenessEntries } from './clients.js';
import type { FilterInput, Plan, Rejection, Verdict } from './filter.js';
import { stampMemberTimes } from './member-times.js';
import { withNotes } from './note-order.js';
import { createStamper, type Stamper } from './stamp.js';

/** One socket joined to this room, as the room sees it. */
export interface Peer {
  readonly identity: Identity;
  /** Whether the peer asked for `accepted` messages (the SDK does; stock clients do not). */
  readonly acks: boolean;
  send(frame: Uint8Array): void;
  close(error: ConvosyncError): void;
}

/** Where a document change came from (like hocuspocus's TransactionOrigin). */
export type Origin = { source: 'peer'; peer: Peer } | { source: 'server'; reason: string };

/** Called after a change is durable and before it is broadcast: the projector's seam. */
export type PersistedHook = (key: DocName, update: Uint8Array, origins: readonly Origin[]) => void;

export type AcceptedHook = (
  key: DocName,
  accepted: {
    author: Identity['id'];
    writes: ReadonlyMap<RootName, ReadonlyMap<string, unknown>>;
    at: number;
  },
) => void;

export interface RoomDeps {
  store: DocStore;
  ids: IdGenerator;
  filter: (input: FilterInput) => Verdict;
  log: Logger;
  now: () => number;
  /** Compact the stored update log after this many appends. */
  compactEvery: number;
  /** Largest awareness state (JSON characters) a client may publish. */
  maxAwarenessBytes: number;
  /** At most one awareness broadcast per room per this many ms (default 200; 0: every update). */
  awarenessFanoutMs?: number;
  /** A client's awareness updates closer than this are merged, removals excepted (default 250). */
  awarenessFloorMs?: number;
  /** Message `from.key` of conversation `from.conversation`, if `identity` may read it. */
  forwardSource: (
    identity: Identity,
    from: { conversation: string; key: string },
  ) => Promise<Message | undefined>;
  onPersisted?: PersistedHook;
  /**
   * Called once the writes of an accepted change (a socket's update or a submission) are
   * durable: who wrote what, at which server time. The projector keeps read times from it.
   */
  onAccepted?: AcceptedHook;
  metrics?: Metrics;
  /** Sensitive words and rate limits, for new messages from sockets and `submit` alike. */
  moderation?: Moderation;
}

/** The log entry that reports `event`, in the name of the identity that caused it. */
function systemMessage(event: SystemEvent, author: Identity, now: number): Message {
  return {
    key: newMessageKey(),
    sender: author.id,
    senderType: author.type,
    format: MessageFormat.Text,
    content: describeSystemEvent(event),
    sentAt: now,
    system: event,
  };
}

export class Room {
  readonly key: DocName;
  readonly parsed: ParsedDoc;
  readonly doc: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  /** Peers and the awareness clientIDs each one controls. */
  private readonly peers = new Map<Peer, Set<number>>();
  /** Awareness clientIDs claimed by an identity that has not written with them yet. */
  private readonly awarenessOwners = new Map<number, Identity['id']>();
  private readonly awarenessFanout: AwarenessFanout;
  private readonly awarenessFloor: AwarenessFloor<Peer>;
  private readonly deps: RoomDeps;
  private readonly stamper: Stamper;
  private queue: Promise<void> = Promise.resolve();
  private outbox: Array<{ update: Uint8Array; origin: Origin }> = [];
  private readonly compaction: CompactionPolicy;
  /** The current step overwrote new messages with their censored copies (see `flush`). */
  private censored = false;
  private broken = false;
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
    this.awareness = new awarenessProtocol.Awareness(doc);
    this.awareness.setLocalState(null);
    this.awarenessFanout = new AwarenessFanout(deps.awarenessFanoutMs ?? 200, (ids) =>
      this.broadcastAwareness(ids),
    );
    this.awarenessFloor = new AwarenessFloor<Peer>(deps.awarenessFloorMs ?? 250, (p, u, e) =>
      this.applyAwareness(p, u, e),
    );
    this.awareness.on('update', this.onAwarenessUpdate);
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
        if (peer.acks) this.ackOwnWrites(peer);
        throw new ConvosyncError(
          'NOT_MEMBER',
          `${peer.identity.id} is not an active member of ${this.key}`,
        );
      }
      await this.learnIdentityType(peer.identity);
      this.peers.set(peer, new Set());
      peer.send(wire.writeSyncStep1(Y.encodeStateVector(this.doc)));
      const states = [...this.awareness.getStates().keys()];
      if (states.length > 0) {
        peer.send(
          wire.writeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, states)),
        );
      }
    });
  }

  /** Removes a peer and the awareness states it controlled. */
  leave(peer: Peer): void {
    const controlled = this.peers.get(peer);
    if (!controlled) return;
    this.peers.delete(peer);
    this.awarenessFloor.forget(peer);
    for (const id of controlled) this.awarenessOwners.delete(id);
    if (controlled.size > 0)
      awarenessProtocol.removeAwarenessStates(this.awareness, [...controlled], null);
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
        this.receiveAwareness(peer, message.update);
        return Promise.resolve();
      case 'query-awareness':
        peer.send(
          wire.writeAwareness(
            awarenessProtocol.encodeAwarenessUpdate(this.awareness, [
              ...this.awareness.getStates().keys(),
            ]),
          ),
        );
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
      const refused = this.deps.moderation?.admit(identity, this.key, this.doc, {
        writes: grouped,
      });
      if (refused) throw refused.error;
      const { messages } = conversationRoots(this.doc);
      const recalls = [...(grouped.get('messages')?.keys() ?? [])].filter((key) =>
        messages.has(key),
      ) as MessageKey[];
      const notes = systemEvents(this.doc, this.parsed, grouped, identity.id);
      // The writes themselves go in the same server transaction as their stamps.
      const stamps = await this.commit(
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

  /** Waits until every queued change is durable. */
  drain(): Promise<void> {
    return this.enqueue(async () => {});
  }

  /** Merges the stored update log (drops deleted content, e.g. recalled text, from disk). */
  compact(): Promise<void> {
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
    for (const peer of [...this.peers.keys()]) {
      this.leave(peer);
      if (error) peer.close(error);
    }
    this.awareness.off('update', this.onAwarenessUpdate);
    this.awarenessFanout.destroy();
    this.awarenessFloor.destroy();
    this.awareness.destroy();
    this.doc.destroy();
  }

  private async applyFrom(peer: Peer, update: Uint8Array): Promise<void> {
    if (!this.peers.has(peer)) return;
    const now = this.deps.now();
    const judging = process.hrtime.bigint();
    const verdict = this.deps.filter({
      doc: this.doc,
      parsed: this.parsed,
      identity: peer.identity,
      update,
      now,
      lastSeq: this.stamper.lastSeq,
      awarenessOwners: this.awarenessOwners,
    });
    this.deps.metrics?.filterSeconds.observe(Number(process.hrtime.bigint() - judging) / 1e9);
    const badForward = verdict.ok ? await this.badForward(peer.identity, verdict) : undefined;
    if (badForward) {
      this.reject(peer, badForward);
      return;
    }
    if (!verdict.ok) {
      this.reject(peer, verdict);
      return;
    }
    const refused = this.deps.moderation?.admit(peer.identity, this.key, this.doc, verdict);
    if (refused) {
      this.reject(peer, refused);
      return;
    }
    const before = Y.encodeStateVector(this.doc);
    try {
      Y.applyUpdate(this.doc, update, { source: 'peer', peer } satisfies Origin);
    } catch (cause) {
      // The filter decoded this update fully, so this is a bug, not bad input; the document may
      // hold part of it, so it must not be used any further.
      this.fail(
        new ConvosyncError('INTERNAL', 'apply failed after the filter accepted', { cause }),
      );
      return;
    }
    if (this.doc.store.pendingStructs || this.doc.store.pendingDs) {
      // The filter's dependency check should make this impossible; never keep parked structs.
      this.fail(new ConvosyncError('INTERNAL', 'an accepted update left pending structs'));
      return;
    }
    this.deps.metrics?.updatesAccepted.inc();
    await this.commit(peer.identity, verdict, now, undefined, peer);
    // The writer hears its ack and stamps before its socket closes, even when it just left.
    if (peer.acks) this.ack(peer, before);
    if (verdict.writes.has('members')) this.closeUnreadable();
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

  /** The first forward whose source `identity` cannot read, or whose content is not the source's. */
  private async badForward(
    identity: Identity,
    plan: Pick<Plan, 'forwards' | 'writes'>,
  ): Promise<Rejection | undefined> {
    for (const forward of plan.forwards) {
      const source =
        forward.from.conversation === this.key
          ? canRead(this.doc, this.parsed, identity)
            ? conversationRoots(this.doc).messages.get(forward.from.key)
            : undefined
          : await this.deps.forwardSource(identity, forward.from);
      const written = plan.writes.get('messages')?.get(forward.key) as Message;
      const refusal = forwardRefusal(written, source);
      if (refusal) {
        const error = new ConvosyncError(refusal.code, refusal.message);
        return { error, clientId: forward.clientId, clock: forward.clock };
      }
    }
    return undefined;
  }

  /**
   * Everything that follows accepted writes, for both writers (a socket's update, already applied,
   * or a submitted set, applied here by `apply`): in one server transaction, bindings, a group's
   * id and creation time, stamps of new messages and recall times; then closing the sockets of
   * members the writes removed (before the broadcast, so they never see it), persisting and
   * broadcasting, and compacting after a recall so recalled content leaves the disk too.
   */
  private async commit(
    author: Identity,
    plan: Pick<Plan, 'bind' | 'writes' | 'recalls' | 'notes' | 'noteAt' | 'created'>,
    now: number,
    apply?: () => void,
    writer?: Peer,
  ): Promise<Stamp[]> {
    const { meta, messages } = conversationRoots(this.doc);
    const genesis = plan.writes.get('meta')?.has('key') === true && !meta.has('conversationId');
    const written = plan.writes.get('messages');
    let stamps: Stamp[] = [];
    if (
      apply ||
      genesis ||
      plan.bind.length > 0 ||
      (written?.size ?? 0) > 0 ||
      plan.recalls.length > 0 ||
      plan.notes.length > 0
    ) {
      const origin: Origin = { source: 'server', reason: apply ? 'submit' : 'stamp' };
      this.stamper.write(this.doc, origin, () => {
        apply?.();
        stampMemberTimes(this.doc, plan.notes, now);
        if (genesis) {
          // A group's id and creation time come from the server, like every other stamp.
          meta.set('conversationId', this.deps.ids.next());
          meta.set('createdAt', now);
        }
        this.stamper.bind(this.doc, plan.bind, author.id);
        this.enlistAnsweringAdmin(author, written, now);
        const fresh = written ? this.inWrittenOrder(unstampedKeys(this.doc, written.keys())) : [];
        if (this.deps.moderation?.censor(this.doc, fresh)) this.censored = true;
        // System messages, in the same transaction, stand where the batch made the change.
        const notes = plan.notes.map((event) => systemMessage(event, author, now));
        for (const message of notes) messages.set(message.key, message);
        const at = new Map(
          plan.created?.map((c) => [c.key, { client: c.clientId, clock: c.clock }]),
        );
        const ordered = withNotes(
          fresh.map((key) => ({ key, at: at.get(key), sentAt: messages.get(key)?.sentAt ?? 0 })),
          notes.map((m, i) => ({ key: m.key as MessageKey, at: plan.noteAt?.[i] })),
        );
        stamps = this.stamper.stamp(this.doc, ordered, now);
        this.stamper.recall(this.doc, plan.recalls, now);
      });
    }
    this.deps.metrics?.messagesAccepted.inc(stamps.length - plan.notes.length);
    if (plan.writes.has('members')) this.closeUnreadable(writer);
    await this.flush();
    if (!this.broken)
      this.deps.onAccepted?.(this.key, { author: author.id, writes: plan.writes, at: now });
    if (plan.recalls.length > 0) {
      void this.compact().catch((error) =>
        this.deps.log.warn('compaction after recall failed', { room: this.key, error }),
      );
    }
    return stamps;
  }

  /**
   * In customer service (`assistant_{id}`), any platform admin may answer; the first answer
   * makes that admin a member (role admin), so the conversation shows who answered, the tables
   * list it, and its inbox lists the conversation.
   */
  private enlistAnsweringAdmin(
    author: Identity,
    written: ReadonlyMap<string, unknown> | undefined,
    now: number,
  ): void {
    if (this.parsed.type !== ConversationType.Assistant || author.role !== PlatformRole.Admin)
      return;
    if (author.id === this.parsed.owner || activeRole(this.doc, author.id) !== undefined) return;
    const { messages } = conversationRoots(this.doc);
    const answered = [...(written?.keys() ?? [])].some(
      (key) => messages.get(key)?.sender === author.id,
    );
    if (!answered) return;
    conversationRoots(this.doc).members.set(author.id, {
      identityType: author.type,
      role: MemberRole.Admin,
      status: MemberStatus.Active,
      joinTime: now,
    });
  }

  /** Tells an SDK peer how far the server now holds each client that changed. */
  private ack(peer: Peer, before: Uint8Array): void {
    const previous = Y.decodeStateVector(before);
    const states: Array<[number, number]> = [];
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(this.doc))) {
      if ((previous.get(client) ?? 0) !== clock) states.push([client, clock]);
    }
    if (states.length > 0) peer.send(wire.writeAccepted(states));
  }

  /** Tells an SDK peer how far the server holds each clientID bound to its identity. */
  private ackOwnWrites(peer: Peer): void {
    const states: Array<[number, number]> = [];
    for (const [client, owner] of conversationRoots(this.doc).clients.entries())
      if (owner === peer.identity.id)
        states.push([Number(client), Y.getState(this.doc.store, Number(client))]);
    if (states.length > 0) peer.send(wire.writeAccepted(states));
  }

  /**
   * Closes, at once, the sockets of identities that may no longer read (removed, exited), except
   * `writer`, closed by its caller once its ack is out.
   */
  private closeUnreadable(writer?: Peer): void {
    for (const peer of [...this.peers.keys()]) {
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

  /** Orders keys as their senders wrote them, so an offline batch keeps its order in `seq`. */
  private inWrittenOrder(keys: MessageKey[]): MessageKey[] {
    const { messages } = conversationRoots(this.doc);
    return keys.sort(
      (a, b) => (messages.get(a)?.sentAt ?? 0) - (messages.get(b)?.sentAt ?? 0) || (a < b ? -1 : 1),
    );
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
    await this.flush();
  }

  private receiveAwareness(peer: Peer, update: Uint8Array): void {
    if (!this.peers.has(peer)) return;
    let entries: AwarenessEntry[];
    try {
      entries = readAwarenessEntries(update);
    } catch (cause) {
      this.refuseAwareness(
        peer,
        new ConvosyncError('MALFORMED_MESSAGE', 'awareness update does not decode', { cause }),
      );
      return;
    }
    const changes = withoutEchoes(
      entries,
      (id) => this.awareness.meta.get(id)?.clock,
      (id) =>
        (this.awarenessOwners.get(id) ?? conversationRoots(this.doc).clients.get(String(id))) ===
        peer.identity.id,
    );
    if (changes.length === 0) return;
    const own = changes.length === entries.length ? update : encodeEntries(changes);
    this.awarenessFloor.offer(peer, own, changes);
  }

  /** Checks and applies an awareness update the floor let through (now or merged, later). */
  private applyAwareness(peer: Peer, update: Uint8Array, entries: readonly AwarenessEntry[]): void {
    if (!this.peers.has(peer)) return;
    let error: ConvosyncError | undefined;
    try {
      error = checkAwareness(
        this.doc,
        peer.identity.id,
        entries,
        this.awarenessOwners,
        this.deps.maxAwarenessBytes,
        peer.identity.type,
      );
    } catch (cause) {
      error = new ConvosyncError('MALFORMED_MESSAGE', 'awareness state is not JSON', { cause });
    }
    if (error) {
      this.refuseAwareness(peer, error);
      return;
    }
    for (const { clientId } of entries) this.awarenessOwners.set(clientId, peer.identity.id);
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, peer);
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

  /** Persists what the last step changed as one record, then broadcasts it. */
  private async flush(): Promise<void> {
    const batch = this.outbox;
    this.outbox = [];
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
      this.fail(new ConvosyncError('STORAGE_UNAVAILABLE', undefined, { cause }));
      return;
    }
    this.deps.onPersisted?.(
      this.key,
      merged,
      batch.map((b) => b.origin),
    );
    this.broadcast(
      merged,
      censored ? [] : batch.flatMap((b) => (b.origin.source === 'peer' ? [b.origin.peer] : [])),
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
   * One frame per step to each peer: every peer hears the whole step (the client's update merged
   * with its stamps) as one update, except a writer, which hears only what it did not write
   * (its stamps), also as one. A censored step goes to all, the writer too (`writers` empty).
   */
  private broadcast(
    merged: Uint8Array,
    writers: readonly Peer[],
    batch: ReadonlyArray<{ update: Uint8Array; origin: Origin }>,
  ): void {
    if (this.peers.size === 0) return;
    const frame = wire.writeUpdate(merged);
    for (const peer of this.peers.keys()) {
      if (!writers.includes(peer)) {
        peer.send(frame);
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

  private fail(error: ConvosyncError): void {
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

  private readonly onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ) => {
    const changed = [...added, ...updated, ...removed];
    const controlled = this.peers.get(origin as Peer);
    if (controlled) {
      // `updated`, too: a clientID that comes back after a removal (a reconnect with the same
      // document) is reported as updated, because y-protocols keeps its clock.
      for (const id of [...added, ...updated]) controlled.add(id);
      for (const id of removed) controlled.delete(id);
    }
    this.awarenessFanout.add(changed);
  };

  /** One frame with the current states of `clientIds` (null for the removed) to every peer. */
  private broadcastAwareness(clientIds: number[]): void {
    if (this.peers.size === 0) return;
    // To every peer, the sender included: y-websocket drops a connection that hears nothing for
    // 30 s, and the echo of its own 15 s awareness renewal is what it hears in a quiet room.
    const frame = wire.writeAwareness(
      awarenessProtocol.encodeAwarenessUpdate(this.awareness, clientIds),
    );
    for (const peer of this.peers.keys()) peer.send(frame);
  }
}
