/**
 * @module Owner-routed rooms (../shared/notes/scale-out.md): any node accepts any socket; only
 * the conversation's owner (the lease holder, lease.ts) loads its Room. A socket on another node
 * joins a RemoteRoom, which relays its frames, as received, to the owner; there a RemotePeer
 * stands for it in the real Room, so filter, stamps, acks, awareness, refusals and close codes
 * are exactly the single-node ones: whatever the Room sends that peer, or closes it with, goes
 * back to the socket's node and out of the socket unchanged.
 *
 * Transport: one Redis stream per node life, `cs:in:{lease id}`, read by one blocking XREAD on a
 * connection of its own. Everything one node sends another in one tick is one XADD (relay-codec:
 * a broadcast frame for several sockets of that node is carried once), so fan-out is batched per
 * node. Order holds per stream, hence per socket. Relays are at-most-once: a node whose stream
 * is gone (it died, Redis was wiped) or whose heartbeat expired has its relayed sockets closed
 * with 4503 (retry), and the client's reconnect finds or claims the owner again. A frame is
 * never delivered past a lost one: the socket is gone first.
 *
 * Server writes (`Room.submit` of REST, notices) on a node that does not own the conversation
 * are calls (`call`): the owner holds the room as `Rooms.use` does and runs the very same
 * `submit`, so rules, moderation and rate limits are the owner's (named server transactions,
 * `apply`, likewise: ../sync/server-writes.ts); the reply carries the stamps,
 * or the error's code and message, thrown again on the calling node as the same ConvosyncError.
 * No answer within `callMs`, or the owner gone: STORAGE_UNAVAILABLE (503, retry). The owner
 * starts no call that has waited past half of that (see `called`), so a call delayed on its
 * way (a backlog, a paused owner) is not written after its caller gave up; only one started in
 * time and then stuck past the caller's wait may still land.
 *
 * Sync step 1/2 of a relayed socket are served by the owner (the Room's own handshake, relayed),
 * not read from the Postgres log on the socket's node: the owner's document is exactly what has
 * been acknowledged, in the order it was, and it needs no second code path.
 */
import { hasGenesis } from '../../shared/conversation.js';
import { ConversationType } from '../../shared/enums.js';
import { ConvosyncError } from '../../shared/errors.js';
import { type DocName, type ParsedDoc, parseDocKey } from '../../shared/keys.js';
import { readMessage } from '../../shared/protocol/sync.js';
import type { Write } from '../../shared/rules/context.js';
import type { Stamp } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import type { Logger } from '../log.js';
import { PendingFrames } from '../sync/pending-frames.js';
import type { Peer, Room } from '../sync/room.js';
import type { Rooms } from '../sync/rooms.js';
import {
  isServerWriteName,
  type ServerWriteArgs,
  type ServerWriteName,
} from '../sync/server-writes.js';
import type { SyncRoom, SyncRooms } from '../sync/socket.js';
import { heartbeatKey, type NodeLease } from './lease.js';
import { ownerOf } from './placement.js';
import type { Redis } from './redis.js';
import { decodeEntry, encodeEntry, type RelayMessage } from './relay-codec.js';
import { type StreamReader, startStreamReader } from './stream-reader.js';

export const inboxStream = (node: string) => `cs:in:${node}`;

/** A dead node's stream goes away on its own this long after its last refresh. */
const STREAM_TTL_MS = 30_000;
/** Streams are trimmed (approximately) to this many entries: a reader is never that far behind. */
const STREAM_MAX = 10_000;

export interface RelayOptions {
  /** Commands (XADD, MGET...); binary replies are read on the reader's own connection. */
  redis: Redis;
  lease: NodeLease;
  rooms: Rooms;
  log: Logger;
  /** A group with no genesis this long after a relayed socket joined it is closed (4404). */
  genesisWindowMs: number;
  /** Bytes of a relayed socket's frames kept until its owner answers (pending-frames.ts). */
  maxPendingBytes: number;
  /** A relayed join the owner has not answered within this: closed with 4503 (default 10 s). */
  answerMs?: number;
  /** How often the nodes relayed to and from are checked for a live heartbeat (default 1 s). */
  checkMs?: number;
  /** A call (a server write) the owner has not answered within this: 503 (default 10 s). */
  callMs?: number;
}

/** A call of this node waiting for the owner's reply. */
interface Call {
  readonly owner: string;
  readonly resolve: (stamps: Stamp[]) => void;
  readonly reject: (error: ConvosyncError) => void;
  readonly timer: NodeJS.Timeout;
}

/** A socket on this node relayed to an owner. */
interface Local {
  readonly peer: Peer;
  /** Where its frames go; changes only when a join lands on a node that let the room go. */
  owner: string;
  readonly room: DocName;
  answered: boolean;
  /** Frames forwarded before the owner's first answer: sent again if the join is `moved`. */
  early: PendingFrames;
  moves: number;
  timer?: NodeJS.Timeout;
}

/** Times one relayed join follows `moved` before its socket is closed (4503) to retry. */
const MAX_MOVES = 3;

/** A socket on another node, joined to a room this node owns. */
interface Remote {
  readonly edge: string;
  readonly id: number;
  readonly peer: Peer;
  ready?: Promise<Room | undefined>;
  room?: Room;
  closed: boolean;
  creation?: NodeJS.Timeout;
}

export class Relay implements SyncRooms {
  private readonly options: RelayOptions;
  private readonly lease: NodeLease;
  private readonly rooms: Rooms;
  private readonly stream: string;
  private readonly locals = new Map<number, Local>();
  private readonly remotes = new Map<string, Map<number, Remote>>();
  private readonly calls = new Map<number, Call>();
  /** Calls not answered yet, settled either way (a drain waits for them). */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly outgoing = new Map<string, RelayMessage[]>();
  /** The last entry number sent to / received from each node (RelayEntry.seq). */
  private readonly sentSeq = new Map<string, number>();
  private readonly receivedSeq = new Map<string, number>();
  private flushing: NodeJS.Immediate | undefined;
  private sent: Promise<unknown> = Promise.resolve();
  private nextPeer = 0;
  private nextCall = 0;
  private closing = false;
  private reader: StreamReader | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(options: RelayOptions) {
    this.options = options;
    this.lease = options.lease;
    this.rooms = options.rooms;
    this.stream = inboxStream(options.lease.id);
  }

  static async start(options: RelayOptions): Promise<Relay> {
    const relay = new Relay(options);
    await relay.announce();
    relay.reader = await startStreamReader({
      redis: options.redis,
      stream: relay.stream,
      onEntry: (bytes) => relay.dispatch(bytes),
      onError: (error) => options.log.warn('relay stream read failed', { error }),
    });
    relay.timer = setInterval(() => void relay.check(), options.checkMs ?? 1000);
    relay.timer.unref();
    return relay;
  }

  /**
   * The room a socket on this node joins: the Room when this node owns the conversation (or
   * claims it now, being the first to be asked), else a RemoteRoom relaying to its live owner.
   */
  async open(key: DocName, identity: Identity): Promise<SyncRoom> {
    if (this.closing) throw new ConvosyncError('SHUTTING_DOWN');
    // Redis away: a retry later (4503), like any storage outage, not an internal error.
    const owner = await ownerOf(this.lease, key);
    if (owner !== this.lease.id) return new RemoteRoom(this, owner, parseDocKey(key));
    return this.rooms.open(key, identity);
  }

  released(room: SyncRoom): void {
    if (!(room instanceof RemoteRoom)) this.rooms.released(room as Room);
  }

  /** Stops taking sockets (a drain): `open` answers SHUTTING_DOWN from now on. */
  stopAccepting(): void {
    this.closing = true;
  }

  /**
   * After the rooms closed their peers (their closes are queued here): sends what is queued,
   * closes the relayed sockets of this node with `error`, stops reading and drops the stream.
   */
  async close(error: ConvosyncError): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    for (const local of [...this.locals.values()]) local.peer.close(error);
    this.flush();
    await this.sent;
    // Replies to this node's calls come through its stream: read them (or time out) first.
    await Promise.all(this.inFlight);
    await this.reader?.stop();
    await this.options.redis.del(this.stream).catch(() => undefined);
  }

  /**
   * Edge side: `Room.submit(identity, writes)` of `key` on its owner `owner`; no writes: only
   * `Rooms.open` there (a deterministic conversation's genesis).
   */
  call(
    owner: string,
    key: DocName,
    identity: Identity,
    writes: readonly Write[],
  ): Promise<Stamp[]> {
    return this.request(owner, (id, sentAt, budgetMs) => ({
      t: 'call',
      peer: id,
      room: key,
      identity,
      writes: [...writes],
      sentAt,
      budgetMs,
    }));
  }

  /** Edge side: the named server transaction `name` (../sync/server-writes.ts) of `key` on `owner`. */
  apply<N extends ServerWriteName>(
    owner: string,
    key: DocName,
    name: N,
    args: ServerWriteArgs<N>,
  ): Promise<void> {
    return this.request(owner, (id, sentAt, budgetMs) => ({
      t: 'apply',
      peer: id,
      room: key,
      name,
      args,
      sentAt,
      budgetMs,
    })).then(() => undefined);
  }

  /** Sends the request `message` makes to `owner`; resolves with its reply's stamps. */
  private request(
    owner: string,
    message: (id: number, sentAt: number, budgetMs: number) => RelayMessage,
  ): Promise<Stamp[]> {
    if (this.closing) return Promise.reject(new ConvosyncError('SHUTTING_DOWN'));
    const id = ++this.nextCall;
    const budget = this.options.callMs ?? 10_000;
    const answered = new Promise<Stamp[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.calls.delete(id)) return;
        reject(
          new ConvosyncError('STORAGE_UNAVAILABLE', `node ${owner} did not answer in time, retry`),
        );
      }, budget);
      timer.unref();
      this.calls.set(id, { owner, resolve, reject, timer });
      this.post(owner, message(id, Date.now(), Math.floor(budget / 2)));
    });
    const settled = answered.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return answered;
  }

  /** Edge side: a socket of this node joins `key` on `owner`. */
  attach(owner: string, key: DocName, peer: Peer): number {
    const id = ++this.nextPeer;
    const local: Local = {
      peer,
      owner,
      room: key,
      answered: false,
      early: new PendingFrames(this.options.maxPendingBytes),
      moves: 0,
    };
    local.timer = setTimeout(() => {
      if (!local.answered && this.locals.get(id) === local)
        peer.close(
          new ConvosyncError('STORAGE_UNAVAILABLE', `node ${local.owner} did not answer, retry`),
        );
    }, this.options.answerMs ?? 10_000);
    local.timer.unref();
    this.locals.set(id, local);
    this.post(owner, { t: 'join', peer: id, room: key, identity: peer.identity, acks: peer.acks });
    return id;
  }

  /** Edge side: a frame of a relayed socket. */
  forward(id: number, frame: Uint8Array): void {
    const local = this.locals.get(id);
    if (!local) return;
    if (!local.answered) {
      // Kept for a move until the owner answers; bounded as a local socket's frames are while
      // its room loads (socket.ts).
      if (!local.early.push(frame)) {
        this.detach(id);
        local.peer.close(new ConvosyncError('TOO_MANY_PENDING'));
        return;
      }
    }
    this.post(local.owner, { t: 'frame', peer: id, frame });
  }

  /**
   * Edge side: the join of socket `id` reached a node that no longer owned the room (it let the
   * room go after this node looked the owner up, and `owner` claimed it). The socket joins there
   * with the frames it sent so far (the node asked handled none of them: it never joined the
   * peer), instead of being closed to reconnect; its entry at the node asked is dropped by a
   * `leave`, which follows every frame sent there.
   */
  private moved(id: number, owner: string): void {
    const local = this.locals.get(id);
    if (!local || local.answered) return;
    this.post(local.owner, { t: 'leave', peer: id });
    local.moves += 1;
    if (owner === this.lease.id || local.moves > MAX_MOVES) {
      // Owned here now: the socket reconnects and joins the Room on this node directly.
      this.locals.delete(id);
      clearTimeout(local.timer);
      local.peer.close(new ConvosyncError('FENCED', `${local.room} moved to node ${owner}, retry`));
      return;
    }
    local.owner = owner;
    const { peer } = local;
    this.post(owner, {
      t: 'join',
      peer: id,
      room: local.room,
      identity: peer.identity,
      acks: peer.acks,
    });
    for (const frame of local.early.frames) this.post(owner, { t: 'frame', peer: id, frame });
  }

  /** Edge side: a relayed socket left (closed). */
  detach(id: number): void {
    const local = this.locals.get(id);
    if (!local) return;
    this.locals.delete(id);
    clearTimeout(local.timer);
    this.post(local.owner, { t: 'leave', peer: id });
  }

  private post(node: string, message: RelayMessage): void {
    let queue = this.outgoing.get(node);
    if (!queue) {
      queue = [];
      this.outgoing.set(node, queue);
    }
    queue.push(message);
    // Everything this turn of the event loop sends that node goes in one entry.
    this.flushing ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    const { redis, lease } = this.options;
    for (const [node, messages] of this.outgoing) {
      const seq = (this.sentSeq.get(node) ?? 0) + 1;
      this.sentSeq.set(node, seq);
      const entry = Buffer.from(encodeEntry({ from: lease.id, seq, messages }));
      // Sent in order on one connection, so each node's stream gets them in order.
      const sending = redis
        .xAddNoMkStream(
          inboxStream(node),
          '*',
          { m: entry },
          { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: STREAM_MAX } },
        )
        .then(
          (id) => {
            if (id === null) this.unreachable(node, 'its stream is gone');
          },
          (error: unknown) => this.unreachable(node, String((error as Error).message)),
        );
      this.sent = Promise.all([this.sent, sending]);
    }
    this.outgoing.clear();
  }

  private dispatch(bytes: Uint8Array): void {
    let entry: ReturnType<typeof decodeEntry>;
    try {
      entry = decodeEntry(bytes);
    } catch (error) {
      this.options.log.error('unreadable relay entry', { error });
      return;
    }
    if (entry.seq > 0) {
      const previous = this.receivedSeq.get(entry.from);
      this.receivedSeq.set(entry.from, entry.seq);
      // Entries from that node were lost: what was relayed between us cannot go on.
      if (previous !== undefined && entry.seq !== previous + 1)
        this.unreachable(entry.from, `entries ${previous + 1}..${entry.seq - 1} were lost`);
    }
    for (const m of entry.messages) {
      switch (m.t) {
        case 'join':
          this.joined(entry.from, m.peer, m.room, m.identity, m.acks);
          break;
        case 'frame':
          this.received(entry.from, m.peer, m.frame);
          break;
        case 'leave':
          this.left(this.remotes.get(entry.from)?.get(m.peer));
          break;
        case 'call':
        case 'apply':
          void this.called(entry.from, m);
          break;
        case 'reply': {
          const call = this.calls.get(m.peer);
          if (!call) break; // answered too late: the caller already had its 503
          this.calls.delete(m.peer);
          clearTimeout(call.timer);
          if ('stamps' in m) call.resolve(m.stamps);
          else call.reject(new ConvosyncError(m.code, m.message));
          break;
        }
        case 'moved':
          if (this.locals.get(m.peer)?.owner === entry.from) this.moved(m.peer, m.owner);
          break;
        case 'send':
        case 'close': {
          const local = this.locals.get(m.peer);
          // Only its owner speaks for a relayed socket: not a node it was moved away from.
          if (!local || local.owner !== entry.from) break;
          local.answered = true;
          local.early.clear();
          if (m.t === 'send') local.peer.send(m.frame);
          else local.peer.close(new ConvosyncError(m.code, m.message));
          break;
        }
      }
    }
  }

  /** Owner side: a socket of `edge` joins room `key` of this node. */
  private joined(edge: string, id: number, key: string, identity: Identity, acks: boolean): void {
    let peers = this.remotes.get(edge);
    if (!peers) {
      peers = new Map();
      this.remotes.set(edge, peers);
    }
    if (peers.has(id)) return;
    const remote: Remote = {
      edge,
      id,
      closed: false,
      peer: {
        identity,
        acks,
        send: (frame) => {
          if (!remote.closed) this.post(edge, { t: 'send', peer: id, frame });
        },
        close: (error) => {
          if (remote.closed) return;
          remote.closed = true;
          this.post(edge, { t: 'close', peer: id, code: error.code, message: error.message });
        },
      },
    };
    peers.set(id, remote);
    const rooms = this.rooms;
    remote.ready = (async () => {
      const room = await this.openOwned(parseDocKey(key).key, identity);
      if (typeof room === 'string') {
        // Kept (closed) until the edge's `leave`, so the frames it sent here meanwhile are
        // dropped quietly instead of answered with a close.
        remote.closed = true;
        this.post(edge, { t: 'moved', peer: id, owner: room });
        return undefined;
      }
      if (remote.closed) {
        rooms.released(room);
        return undefined;
      }
      try {
        await room.join(remote.peer);
      } catch (error) {
        rooms.released(room);
        throw error;
      }
      if (remote.closed) {
        room.leave(remote.peer);
        rooms.released(room);
        return undefined;
      }
      remote.room = room;
      this.armCreationWindow(remote, room);
      return room;
    })().catch((error: unknown) => {
      remote.peer.close(asConvosyncError(error));
      return undefined;
    });
  }

  /**
   * Owner side: a call of `edge`, run as a REST write on this node runs: `Rooms.use` (claims
   * the room if it is free; FENCED if a third node owns it now), then `Room.submit`. A call that
   * waited longer than its budget (the caller's clock; nodes' clocks are kept within far less
   * by NTP) is not started: its caller may have answered 503 already, and a client retrying
   * that must not find the first attempt written too.
   */
  private async called(
    edge: string,
    m: Extract<RelayMessage, { t: 'call' | 'apply' }>,
  ): Promise<void> {
    const late = () => Date.now() > m.sentAt + m.budgetMs;
    const tooLate = () =>
      new ConvosyncError('STORAGE_UNAVAILABLE', 'the call reached the owner too late, retry');
    try {
      if (late()) throw tooLate();
      let stamps: Stamp[] = [];
      if (m.t === 'apply') {
        if (!isServerWriteName(m.name))
          throw new ConvosyncError('INTERNAL', `no server write named ${m.name}`);
        // As REST's borrow: no genesis, no claim beyond a free room.
        const room = await this.rooms.borrow(m.room);
        try {
          if (late()) throw tooLate();
          await room.apply(m.name, m.args as ServerWriteArgs<typeof m.name>);
        } finally {
          room.release();
        }
      } else {
        stamps = await this.rooms.use(parseDocKey(m.room).key, m.identity, async (room) => {
          if (m.writes.length === 0) return [];
          if (late()) throw tooLate();
          return room.submit(m.identity, m.writes);
        });
      }
      this.post(edge, { t: 'reply', peer: m.peer, stamps });
    } catch (error) {
      const e = asConvosyncError(error);
      this.post(edge, { t: 'reply', peer: m.peer, code: e.code, message: e.message });
    }
  }

  /**
   * Owner side: the room a relayed join asked for, or the node that owns it now. The edge looked
   * the owner up a moment ago; meanwhile this node may have let the room go (idle, drained) and
   * another claimed it (FENCED), or it may be free again (claimed here now).
   */
  private async openOwned(key: DocName, identity: Identity): Promise<Room | string> {
    try {
      return await this.rooms.open(key, identity);
    } catch (error) {
      if (!(error instanceof ConvosyncError && error.code === 'FENCED')) throw error;
      const owner = await ownerOf(this.lease, key);
      return owner === this.lease.id ? this.rooms.open(key, identity) : owner;
    }
  }

  /** Owner side: a relayed socket's frame, handled as socket.ts handles a local one. */
  private received(edge: string, id: number, frame: Uint8Array): void {
    const remote = this.remotes.get(edge)?.get(id);
    if (!remote?.ready) {
      // Dropped here (its node seemed gone, entries were lost) while its socket lives on there:
      // it must reconnect, not write into the void.
      this.post(edge, {
        t: 'close',
        peer: id,
        code: 'STORAGE_UNAVAILABLE',
        message: 'relay interrupted, retry',
      });
      return;
    }
    // In arrival order: callbacks on one promise run in the order they were added.
    void remote.ready.then((room) => {
      if (!room || remote.closed) return;
      let message: Parameters<Room['receive']>[1];
      try {
        message = readMessage(frame);
      } catch (error) {
        remote.peer.close(asConvosyncError(error));
        return;
      }
      room
        .receive(remote.peer, message)
        .catch((error: unknown) => remote.peer.close(asConvosyncError(error)));
    });
  }

  /** Owner side: a relayed socket is gone (closed, or its node is). */
  private left(remote: Remote | undefined): void {
    if (!remote) return;
    const peers = this.remotes.get(remote.edge);
    peers?.delete(remote.id);
    if (peers?.size === 0) this.remotes.delete(remote.edge);
    remote.closed = true;
    clearTimeout(remote.creation);
    void remote.ready?.then((room) => {
      if (!room) return;
      room.leave(remote.peer);
      this.rooms.released(room);
    });
  }

  /** As socket.ts does for a local socket: a group nobody creates is not kept loaded. */
  private armCreationWindow(remote: Remote, room: Room): void {
    if (room.parsed.type !== ConversationType.Group || hasGenesis(room.doc)) return;
    remote.creation = setTimeout(() => {
      if (!remote.closed && !hasGenesis(room.doc))
        remote.peer.close(
          new ConvosyncError('CONVERSATION_NOT_FOUND', `${room.key} was not created in time`),
        );
    }, this.options.genesisWindowMs);
    remote.creation.unref();
  }

  /** `node` cannot be reached: its relayed sockets here close (4503), its sockets' peers leave. */
  private unreachable(node: string, why: string): void {
    const lost = [...this.locals.values()].filter((l) => l.owner === node);
    const remotes = [...(this.remotes.get(node)?.values() ?? [])];
    const calls = [...this.calls].filter(([, c]) => c.owner === node);
    if (lost.length === 0 && remotes.length === 0 && calls.length === 0) return;
    this.options.log.warn('relay node unreachable', {
      node,
      why,
      sockets: lost.length,
      peers: remotes.length,
      calls: calls.length,
    });
    for (const [id, call] of calls) {
      this.calls.delete(id);
      clearTimeout(call.timer);
      call.reject(
        new ConvosyncError('STORAGE_UNAVAILABLE', `the owner node ${node} is gone, retry`),
      );
    }
    for (const local of lost)
      local.peer.close(
        new ConvosyncError('STORAGE_UNAVAILABLE', `the owner node ${node} is gone, retry`),
      );
    for (const remote of remotes) {
      // Heard by the socket if its node is still there (entries were lost, not the node).
      remote.peer.close(new ConvosyncError('STORAGE_UNAVAILABLE', 'relay interrupted, retry'));
      this.left(remote);
    }
  }

  /** Every second: nodes relayed to or from whose heartbeat is gone; this node's stream. */
  private async check(): Promise<void> {
    const { redis } = this.options;
    try {
      if (!(await redis.pExpire(this.stream, STREAM_TTL_MS))) await this.announce();
      const nodes = [
        ...new Set([
          ...[...this.locals.values()].map((l) => l.owner),
          ...this.remotes.keys(),
          ...[...this.calls.values()].map((c) => c.owner),
        ]),
      ];
      if (nodes.length === 0) return;
      const beats = await redis.mGet(nodes.map(heartbeatKey));
      nodes.forEach((node, i) => {
        if (beats[i] === null) this.unreachable(node, 'its heartbeat expired');
      });
    } catch (error) {
      this.options.log.warn('relay check failed', { error });
    }
  }

  /** Creates (again, after Redis lost it) this node's stream, which senders never create. */
  private async announce(): Promise<void> {
    const { redis, lease } = this.options;
    await redis.xAdd(this.stream, '*', {
      m: Buffer.from(encodeEntry({ from: lease.id, seq: 0, messages: [] })),
    });
    await redis.pExpire(this.stream, STREAM_TTL_MS);
  }
}

/** A socket's room on a node that does not own it: its frames go to the owner. */
class RemoteRoom implements SyncRoom {
  private id: number | undefined;
  constructor(
    private readonly relay: Relay,
    readonly owner: string,
    readonly parsed: ParsedDoc,
  ) {}

  join(peer: Peer): Promise<void> {
    this.id = this.relay.attach(this.owner, this.parsed.key, peer);
    return Promise.resolve();
  }

  receive(_peer: Peer, _message: unknown, frame: Uint8Array): Promise<void> {
    if (this.id !== undefined) this.relay.forward(this.id, frame);
    return Promise.resolve();
  }

  leave(_peer: Peer): void {
    if (this.id !== undefined) this.relay.detach(this.id);
    this.id = undefined;
  }
}

function asConvosyncError(error: unknown): ConvosyncError {
  return error instanceof ConvosyncError
    ? error
    : new ConvosyncError('INTERNAL', undefined, { cause: error });
}
