/**
 * @module The rooms REST, notices and file access use in cluster mode (the ServerRooms of
 * ../sync/rooms.ts), on any node. Where this node owns the conversation, or claims it being free,
 * it is `Rooms` itself, exactly as on a single node. Where another node owns it:
 *
 * - writes (`submit`) are calls to the owner (relay.ts): the owner runs the real `Room.submit`,
 *   so rules, moderation and limits are the owner's, and an error comes back as the same
 *   ConvosyncError, hence the same REST status and code;
 * - the document (`doc`, `read`) is a read-only copy of the fenced Postgres log, caught up before
 *   each read (replicas.ts): every write acknowledged before the read is in it, including a REST
 *   write just made through this node (its submit catches the copy up before it returns).
 *
 * - named server transactions (`borrow(key).apply`: a card's state, a conversation's status)
 *   are sent to the owner the same way (../sync/server-writes.ts).
 *
 * Nothing here claims or writes a room another node owns.
 */
import type * as Y from 'yjs';
import { hasGenesis } from '../../shared/conversation.js';
import { ConversationType } from '../../shared/enums.js';
import { type DocName, parseDocKey } from '../../shared/keys.js';
import type { Write } from '../../shared/rules/context.js';
import type { Stamp } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import type { Logger } from '../log.js';
import type { BorrowedRoom, RoomHandle, Rooms, ServerRooms } from '../sync/rooms.js';
import type { NodeLease } from './lease.js';
import { ownerOf } from './placement.js';
import type { Relay } from './relay.js';
import type { Replicas } from './replicas.js';

export interface ClusterServerRoomsDeps {
  rooms: Rooms;
  lease: NodeLease;
  relay: Relay;
  replicas: Replicas;
  log: Logger;
}

export function clusterServerRooms(deps: ClusterServerRoomsDeps): ServerRooms {
  const { rooms, lease, relay, replicas } = deps;
  return {
    get count() {
      return rooms.count;
    },
    async use(key, identity, f) {
      const owner = await ownerOf(lease, key);
      if (owner === lease.id) return rooms.use(key, identity, f);
      const doc = await replicas.current(key);
      const parsed = parseDocKey(key);
      // A private, system or assistant chat is created by its first open, on its owner.
      if (parsed.type !== 'inbox' && parsed.type !== ConversationType.Group && !hasGenesis(doc)) {
        await relay.call(owner, key, identity, []);
        await replicas.current(key);
      }
      return f(new RemoteRoomHandle(key, owner, doc, deps));
    },
    async borrow(key) {
      const name = parseDocKey(key).key;
      const owner = await ownerOf(lease, name);
      if (owner === lease.id) return rooms.borrow(name);
      const doc = await replicas.current(name);
      const borrowed: BorrowedRoom = {
        doc,
        read: (f) => replicas.read(name, f),
        apply: async (write, args) => {
          await relay.apply(owner, name, write, args);
          await replicas.current(name).catch(() => undefined); // as after a submit
        },
        release: () => {},
      };
      return borrowed;
    },
  };
}

/** A room owned by another node: writes go to it, reads come from the log. */
class RemoteRoomHandle implements RoomHandle {
  /** The copy as of the last catch-up (the copies may replace a dropped one by a new object). */
  doc: Y.Doc;

  constructor(
    private readonly key: DocName,
    private readonly owner: string,
    doc: Y.Doc,
    private readonly deps: ClusterServerRoomsDeps,
  ) {
    this.doc = doc;
  }

  async submit(identity: Identity, writes: readonly Write[]): Promise<Stamp[]> {
    const stamps = await this.deps.relay.call(this.owner, this.key, identity, writes);
    // Durable on the owner before it answered: the copy catches up, so what the caller reads
    // next (from `doc`, or any read on this node) holds the write.
    try {
      this.doc = await this.deps.replicas.current(this.key);
    } catch (error) {
      // The write is done; only this node's copy lags (the next read catches up again).
      this.deps.log.warn('catching up a copy after a relayed write failed', {
        room: this.key,
        error,
      });
    }
    return stamps;
  }

  async read<T>(f: (doc: Y.Doc) => T): Promise<T> {
    this.doc = await this.deps.replicas.current(this.key);
    return f(this.doc);
  }
}
