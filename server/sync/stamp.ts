/**
 * @module Server writes that follow an accepted update: bindings of fresh clientIDs, the stamps
 * (seq, BIGINT id, accepted time) of new messages, and the recall time of recalled ones.
 *
 * They run in a local transaction: inside a remote one Yjs sees its own clientID's state change
 * and silently replaces `doc.clientID` (findings §2, "Pitfall hit"). A peer's update and its
 * stamps share one transaction (room.ts), marked local again once the update is applied, so
 * the step is one update event. Every server transaction also binds the server's own clientID,
 * so the filter can tell it apart; a room that loads takes up the clientID this process wrote
 * the document with before (`resumeServerClient`) rather than a new one each time.
 */
import { createHash } from 'node:crypto';
import * as Y from 'yjs';
import type { IdentityId, MessageKey } from '../../shared/ids.js';
import { conversationRoots, SERVER_AUTHOR, type Stamp } from '../../shared/schema.js';
import type { IdGenerator } from '../message-ids.js';

export interface Stamper {
  /** The highest seq issued so far. */
  readonly lastSeq: number;
  /** Runs `write` in one server transaction with `origin`, binding the server's clientID. */
  write(doc: Y.Doc, origin: unknown, write: () => void): void;
  /** Stamps new messages, in the given order; a message is stamped at most once. */
  stamp(doc: Y.Doc, keys: readonly MessageKey[], now: number): Stamp[];
  /** Records the recall time of recalled messages. */
  recall(doc: Y.Doc, keys: readonly MessageKey[], now: number): void;
  /** Binds fresh clientIDs to their author. */
  bind(doc: Y.Doc, clientIds: readonly number[], author: IdentityId): void;
}

export function createStamper(ids: IdGenerator, lastSeq: number): Stamper {
  let seq = lastSeq;
  return {
    get lastSeq() {
      return seq;
    },
    write(doc, origin, write) {
      doc.transact(() => {
        const { clients } = conversationRoots(doc);
        if (!clients.has(String(doc.clientID))) clients.set(String(doc.clientID), SERVER_AUTHOR);
        write();
      }, origin);
    },
    stamp(doc, keys, now) {
      const { stamps } = conversationRoots(doc);
      const written: Stamp[] = [];
      for (const key of keys) {
        if (stamps.has(key)) continue; // stamped exactly once, whatever replays arrive
        seq += 1;
        const stamp: Stamp = { seq, id: ids.next(), at: now };
        stamps.set(key, stamp);
        written.push(stamp);
      }
      return written;
    },
    recall(doc, keys, now) {
      const { stamps } = conversationRoots(doc);
      for (const key of keys) {
        const stamp = stamps.get(key);
        if (stamp && stamp.recalledAt === undefined) stamps.set(key, { ...stamp, recalledAt: now });
      }
    },
    bind(doc, clientIds, author) {
      const { clients } = conversationRoots(doc);
      for (const id of clientIds) clients.set(String(id), author);
    },
  };
}

/**
 * Makes `doc` (a conversation just loaded from its store, nothing written yet) write with this
 * server's clientID for it: the same one at every load of the document by this server process
 * (a hash of `epoch`, drawn at its start, and the document's name), a different one in the next
 * process or on another node; returns it.
 *
 * Why: Yjs walks every clientID a document ever had on each transaction (its state vector, before
 * and after), so the cost of a message grows with them: ~30 µs at 10, 3 ms at 5,000, 25 ms at
 * 20,000 (measured). A new server clientID per load (a room unloads after a quiet half minute)
 * gave a conversation with sporadic traffic one more for nearly every message it ever had, and
 * one more `clients` entry in the document. Now it gets one per process that writes it.
 *
 * Why only per process: within one, what the room stored is what anyone saw (persist, then
 * broadcast; Rooms loads a document again only once the unloaded room's queued writes are
 * done), so the stored state holds every struct of the clientID and its next clock is free.
 * A new process may find less on disk than clients hold (LevelDB writes are not fsynced, so a
 * power loss can take the last ones; a data directory restored from a backup): with a clientID
 * of its own, clients send back what it lost and are refused and reset (CLIENT_ID_TAKEN), where
 * going on with the old clientID would write new stamps over clocks clients already hold, a
 * silent divergence.
 */
export function resumeServerClient(doc: Y.Doc, name: string, epoch: Uint8Array): number {
  const digest = createHash('sha256').update(epoch).update(name).digest();
  const own = digest.readUInt32BE(0) || 1;
  const bound = conversationRoots(doc).clients.get(String(own));
  // Anyone else's (an astronomically unlikely clash): keep the random clientID Yjs drew.
  if (bound === SERVER_AUTHOR || (bound === undefined && Y.getState(doc.store, own) === 0))
    doc.clientID = own;
  return doc.clientID;
}
