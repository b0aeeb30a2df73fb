/**
 * @module The registry of loaded rooms: one Room per document per process, loaded once even
 * when many sockets ask at the same moment, unloaded (and compacted) when idle.
 */
import type * as Y from 'yjs';
import { hasGenesis } from '../../shared/conversation.js';
import { ConvosyncError } from '../../shared/errors.js';
import { type DocName, parseDocKey, tryParseKey } from '../../shared/keys.js';
import { canRead } from '../../shared/rules/access.js';
import type { Write } from '../../shared/rules/context.js';
import { conversationRoots, type Message, type Stamp } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import type { DocStore } from '../store/types.js';
import { Room, type RoomDeps } from './room.js';
import { type ServerWriteArgs, type ServerWriteName, serverWrite } from './server-writes.js';

/**
 * Cluster mode (server/cluster/placement.ts): a room loads only on the node that owns it, and
 * appends to the fenced log at the head it loaded. Absent in single-node mode.
 */
export interface RoomPlacement {
  /** Resolves once this node owns `key` (claimed if free); throws FENCED if another node does. */
  acquire(key: DocName): Promise<void>;
  /** The store one load of `key` reads and appends through. */
  storeFor(key: DocName): DocStore;
  /**
   * When another node owns `key`: `f` run on a read-only copy of its durable state (forward
   * sources); undefined when this node owns it or has just claimed it (then load the room).
   */
  readElsewhere<T>(key: DocName, f: (doc: Y.Doc) => T): Promise<{ value: T } | undefined>;
  /**
   * Gives `keys` up and claims no room any more: this node writes them no more (a shutdown
   * whose input stopped and whose rooms drained), so another node may own them at once, while
   * this one still compacts their logs (which tolerate a new owner's appends:
   * server/store/postgres.ts).
   */
  giveUp(keys: readonly DocName[]): Promise<void>;
}

/**
 * A room as server code other than sockets uses it (REST, notices, file access): the Room
 * itself in single-node mode; in cluster mode, on a node that does not own the conversation, a
 * handle whose `submit` runs on the owner and whose `doc` is a read-only copy of the durable
 * log (server/cluster/server-rooms.ts).
 */
export interface RoomHandle {
  /** The document (durable state; read it, never write it). */
  readonly doc: Y.Doc;
  /** Room.submit: the writes judged by the rules, stamped, durable; the stamps of new messages. */
  submit(identity: Identity, writes: readonly Write[]): Promise<Stamp[]>;
  /** Room.read: `f` on the document with every change durable. */
  read<T>(f: (doc: Y.Doc) => T): Promise<T>;
}

/** A room lent for reading (and server writes) without a genesis (Rooms.borrow). */
export interface BorrowedRoom {
  readonly doc: Y.Doc;
  read<T>(f: (doc: Y.Doc) => T): Promise<T>;
  /** A named server transaction (server-writes.ts), persisted and broadcast (Room.serverWrite). */
  apply<N extends ServerWriteName>(name: N, args: ServerWriteArgs<N>): Promise<void>;
  release(): void;
}

/** What REST, notices and file access open rooms through: Rooms, or cluster mode's router. */
export interface ServerRooms {
  /** Rooms loaded on this node (health). */
  readonly count: number;
  /** Rooms.use: `f` on the room of `key` (genesis done), held for `f` and released after. */
  use<T>(key: DocName, identity: Identity, f: (room: RoomHandle) => Promise<T>): Promise<T>;
  borrow(key: string): Promise<BorrowedRoom>;
}

/**
 * How long a load waits for what an unloaded room of the same document still had queued; then
 * it loads anyway, as an unsettled room (Room.load: reads only, dropped once those steps are
 * done), so one stuck step (a stalled store, a wait on another room that waits back) cannot
 * keep the document from being read, nor two loads wait on each other for good.
 */
const SETTLE_WAIT_MS = 5000;

/** How long a conversation with no genesis stays loaded once nobody uses it. */
const UNBORN_IDLE_MS = 1000;

export class Rooms {
  private readonly loading = new Map<DocName, Promise<Room>>();
  private readonly loaded = new Map<DocName, Room>();
  private readonly idleTimers = new Map<Room, NodeJS.Timeout>();
  /**
   * Borrows not yet released, per room. A borrower is not a peer (`room.size`), so without this
   * count another user's release could start the idle timer and unload the room under a
   * borrower still holding it (a projection waiting on its transaction, a long REST call); its
   * later server write would go to a room no socket hears any more.
   */
  private readonly lent = new Map<Room, number>();
  /**
   * Per key, the steps unloaded rooms still had queued. A load of the key waits for them: the
   * new room must read their appends (else it would lack them, and a compaction from its copy
   * would delete them from disk) and go on after them with the same server clientID (stamp.ts).
   */
  private readonly settling = new Map<DocName, Promise<void>>();
  private readonly unloadListeners: Array<(key: DocName) => void> = [];
  private readonly loadListeners: Array<(room: Room) => Promise<void> | undefined> = [];
  private closing = false;
  /** A shutdown stopped the rooms' input (quiesce) with this error: no socket opens a room. */
  private quiesced: ConvosyncError | undefined;

  constructor(
    private readonly deps: Omit<RoomDeps, 'forwardSource'>,
    private readonly idleMs: number,
    private readonly placement?: RoomPlacement,
  ) {}

  /** Loaded rooms (for health and metrics). */
  get count(): number {
    return this.loading.size;
  }

  /**
   * The room of `key`, loaded if needed, with the genesis of a deterministic conversation done
   * when `identity` is one of its first members.
   */
  async open(key: DocName, identity: Identity): Promise<Room> {
    if (this.quiesced) throw new ConvosyncError('SHUTTING_DOWN');
    const room = await this.load(key);
    await room.ensureGenesis(identity);
    return room;
  }

  private async load(key: DocName): Promise<Room> {
    if (this.closing) throw new ConvosyncError('SHUTTING_DOWN');
    let pending = this.loading.get(key);
    if (!pending) {
      const deps: RoomDeps = {
        ...this.deps,
        forwardSource: (i, f) => this.forwardSource(i, f),
      };
      const placement = this.placement;
      // What unloaded rooms of the key still had queued: waited for, then (if the wait gave up)
      // what drops the unsettled room once it is done.
      const earlier = this.settling.get(key);
      const loaded = placement
        ? placement
            .acquire(key)
            .then(() => this.settled(key, earlier))
            .then((settled) =>
              Room.load(
                parseDocKey(key),
                { ...deps, store: placement.storeFor(key) },
                { unsettled: !settled },
              ),
            )
        : this.settled(key, earlier).then((settled) =>
            Room.load(parseDocKey(key), deps, { unsettled: !settled }),
          );
      pending = loaded.then(async (room) => {
        // Unsettled (see Room.load): replaced by a load that holds the late write once it is done.
        if (room.isUnsettled)
          void earlier?.then(() => {
            if (this.loaded.get(key) === room)
              room.fail(
                new ConvosyncError('STORAGE_UNAVAILABLE', `${key} reloads with earlier writes`),
              );
          });
        room.onDrop = (dropped) => this.forget(dropped);
        // Loaded for a shutdown's last reads (an inbox pass, a projection): nothing is written.
        if (this.quiesced) room.stopInput(this.quiesced);
        this.loaded.set(key, room);
        // Before anyone gets the room: what it must hold when it opens (an inbox's entries).
        for (const listener of this.loadListeners) await listener(room);
        return room;
      });
      this.loading.set(key, pending);
      // A failed load must not stick: the next open tries again.
      pending.catch(() => this.loading.delete(key));
    }
    const room = await pending;
    this.cancelIdle(room);
    return room;
  }

  /**
   * Runs `f` on the room of `key` (loaded if needed, the genesis of a deterministic conversation
   * done when `identity` is one of its first members), held for `f` like a borrow: a REST call,
   * a notice, a file check, a call relayed from another node. Released once `f` is done, so a
   * room only REST touched unloads when idle (it used to stay loaded for good), and one held
   * across a long call is not unloaded under it.
   */
  async use<T>(key: DocName, identity: Identity, f: (room: Room) => Promise<T>): Promise<T> {
    if (this.quiesced) throw new ConvosyncError('SHUTTING_DOWN');
    const room = await this.load(key);
    const release = this.lend(room);
    try {
      await room.ensureGenesis(identity);
      return await f(room);
    } finally {
      release();
    }
  }

  /** Lends a room's document (loading it if needed, without a genesis), e.g. to the projector. */
  async borrow(key: string): Promise<
    BorrowedRoom & {
      /** A server transaction on the document, persisted and broadcast (Room.serverWrite). */
      write(reason: string, change: (doc: Y.Doc) => boolean): Promise<void>;
      /** Merges the stored log, dropping deleted content from disk (Room.compact). */
      compact(): Promise<void>;
    }
  > {
    const room = await this.load(parseDocKey(key).key);
    return {
      doc: room.doc,
      read: (f) => room.read(f),
      write: (reason, change) => room.serverWrite(reason, change),
      apply: (name, args) => room.serverWrite(name, serverWrite(name, args)),
      compact: () => room.compact(),
      release: this.lend(room),
    };
  }

  /** Counts a hold on `room` (a borrow, a use); the function returned ends it, once. */
  private lend(room: Room): () => void {
    this.lent.set(room, (this.lent.get(room) ?? 0) + 1);
    let returned = false;
    return () => {
      if (returned) return; // a second release must not end another holder's hold
      returned = true;
      const left = (this.lent.get(room) ?? 1) - 1;
      if (left > 0) this.lent.set(room, left);
      else this.lent.delete(room);
      this.released(room);
    };
  }

  /**
   * Calls `listener` with every room that loads, before the room is handed out; the load waits
   * for the promise it returns (it must not borrow that same room).
   */
  onLoad(listener: (room: Room) => Promise<void> | undefined): void {
    this.loadListeners.push(listener);
  }

  /** Calls `listener` with the key of every room that is unloaded (idle, broken). */
  onUnload(listener: (key: DocName) => void): void {
    this.unloadListeners.push(listener);
  }

  /** A loaded room, if any (health, tests). */
  peek(key: DocName): Room | undefined {
    return this.loaded.get(key);
  }

  /**
   * Message `from.key` of another conversation if `identity` may read it (forward sources), else
   * undefined. Loads that room if needed, without a genesis, and lets it unload again when idle.
   */
  async forwardSource(
    identity: Identity,
    from: { conversation: string; key: string },
  ): Promise<Message | undefined> {
    const parsed = tryParseKey(from.conversation);
    if (!parsed) return undefined;
    // Cluster mode: a source another node owns is read from the log, never loaded here.
    if (this.placement) {
      const elsewhere = await this.placement.readElsewhere(parsed.key, (doc) =>
        canRead(doc, parsed, identity) ? conversationRoots(doc).messages.get(from.key) : undefined,
      );
      if (elsewhere) return elsewhere.value;
    }
    const room = await this.load(parsed.key);
    try {
      if (!canRead(room.doc, room.parsed, identity)) return undefined;
      return conversationRoots(room.doc).messages.get(from.key);
    } finally {
      this.released(room);
    }
  }

  /**
   * Called when a peer left: unload the room once nobody has used it for `idleMs`. A conversation
   * with no genesis (a group key nobody created, a private chat a stranger asked for) goes after
   * at most a second: anyone can name such keys, and each one kept would hold a loaded room. (Not
   * at once: a socket that has just opened the room may not have joined it yet.)
   */
  released(room: Room): void {
    if (this.inUse(room) || this.closing || this.quiesced || room.isBroken) return;
    this.cancelIdle(room);
    const unborn = room.parsed.type !== 'inbox' && !hasGenesis(room.doc);
    const idle = unborn ? Math.min(this.idleMs, UNBORN_IDLE_MS) : this.idleMs;
    const timer = setTimeout(() => {
      this.idleTimers.delete(room);
      if (this.inUse(room)) return;
      this.forget(room);
      // Compacting a document never written would store an empty one under a made-up key.
      const compacting =
        room.parsed.type !== 'inbox' && !hasGenesis(room.doc) ? room.drain() : room.compact();
      void compacting
        .catch((error) =>
          this.deps.log.warn('compaction on unload failed', { room: room.key, error }),
        )
        .finally(() => room.destroy());
    }, idle);
    timer.unref();
    this.idleTimers.set(room, timer);
  }

  /**
   * A shutdown's first half: what every room has queued becomes durable (and so published: the
   * inbox passes and the projector hear it), then each room stops its input (Room.stopInput:
   * peers closed with `error`, joins and writes refused), so nothing changes any more. The rooms
   * stay loaded, readable by the passes and projections that run next; `close` then compacts and
   * releases them. Before, the inbox closed first and the steps that became durable while the
   * rooms drained got no pass, and no notice to the other nodes, whose inboxes a drained node
   * does not make resync.
   */
  async quiesce(error: ConvosyncError): Promise<void> {
    this.quiesced = error;
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    this.idleTimers.clear();
    const rooms = await Promise.allSettled(this.loading.values());
    await Promise.all(
      rooms.map(async (result) => {
        if (result.status !== 'fulfilled') return;
        const room = result.value;
        await room.drain().catch(() => undefined);
        room.stopInput(error);
        // A frame that arrived meanwhile is dropped with its peer (its client sends it again).
        await room.drain().catch(() => undefined);
      }),
    );
  }

  /**
   * Stops loading rooms, waits until every queued change is durable, compacts each room's log
   * and closes every peer. In cluster mode a shutdown's rooms, whose input stopped (`quiesce`)
   * and whose inbox passes and projections ran, are given up first: their clients, refused
   * since, find another owner at once instead of after every room's compaction here.
   */
  async close(error: ConvosyncError): Promise<void> {
    this.closing = true;
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    this.idleTimers.clear();
    const rooms = await Promise.allSettled(this.loading.values());
    const { placement } = this;
    if (placement && this.quiesced) {
      const loaded = rooms.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      // Nothing may be on its way to the log when another node takes over: every room (all of
      // them stopped: by quiesce, or as they loaded after it) drains first.
      await Promise.all(loaded.map((room) => room.drain().catch(() => undefined)));
      await placement
        .giveUp(loaded.map((room) => room.key))
        .catch((e: unknown) => this.deps.log.warn('rooms not given up', { error: e }));
    }
    for (const result of rooms) {
      if (result.status !== 'fulfilled') continue;
      const room = result.value;
      await room.drain().catch(() => undefined);
      await room
        .compact()
        .catch((e) =>
          this.deps.log.warn('compaction on shutdown failed', { room: room.key, error: e }),
        );
      room.destroy(error);
    }
    this.loading.clear();
    this.loaded.clear();
  }

  /** Drops a loaded room at once, closing its peers with `error` (cluster: ownership lost). */
  evict(key: DocName, error: ConvosyncError): void {
    const room = this.loaded.get(key);
    if (room) room.fail(error);
  }

  private forget(room: Room): void {
    this.cancelIdle(room);
    // Only forget this very room: a newer load of the same key may already be registered.
    if (this.loaded.get(room.key) !== room) return;
    room.detach();
    // With what earlier unloaded rooms of the key still had queued, if anything.
    const queued = Promise.all([this.settling.get(room.key), room.queued()]).then(() => undefined);
    this.settling.set(room.key, queued);
    void queued.then(() => {
      if (this.settling.get(room.key) === queued) this.settling.delete(room.key);
    });
    this.loaded.delete(room.key);
    this.loading.delete(room.key);
    for (const listener of this.unloadListeners) listener(room.key);
  }

  /**
   * Resolves true once `earlier` (the steps unloaded rooms of `key` had queued) has run, false
   * if that takes longer than SETTLE_WAIT_MS (logged: the room loads unsettled).
   */
  private settled(key: DocName, earlier: Promise<void> | undefined): Promise<boolean> {
    if (!earlier) return Promise.resolve(true);
    return new Promise((resolve) => {
      // Not unref'd: a load is waiting on it.
      const timer = setTimeout(() => {
        this.deps.log.warn('an unloaded room still has steps queued; loading without them', {
          room: key,
          waitedMs: SETTLE_WAIT_MS,
        });
        resolve(false);
      }, SETTLE_WAIT_MS);
      void earlier.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Peers joined or borrows not returned: the room must stay loaded. */
  private inUse(room: Room): boolean {
    return room.size > 0 || this.lent.has(room);
  }

  private cancelIdle(room: Room): void {
    const timer = this.idleTimers.get(room);
    if (timer) clearTimeout(timer);
    this.idleTimers.delete(room);
  }
}
