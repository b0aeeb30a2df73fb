/**
 * @module Server writes that follow an accepted update: bindings of fresh clientIDs, the stamps
 * (seq, BIGINT id, accepted time) of new messages, and the recall time of recalled ones.
 *
 * They run in a local transaction: inside a remote one Yjs sees its own clientID's state change
 * and silently replaces `doc.clientID` (findings §2, "Pitfall hit"). A peer's update and its
 * stamps share one transaction (room.ts), marked local again once the update is applied, so
 * the step is one update event. Every server transaction also binds the server's own clientID,
 * so the filter can tell it apart; a room that loads takes up the clientID its earlier loads
 * wrote with (`resumeServerClient`) rather than a new one each time.
 */
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
 * Makes `doc` (a conversation just loaded from its store, nothing written yet) write with the
 * server clientID it already holds the most of, if any; returns it.
 *
 * Why: Yjs walks every clientID a document ever had on each transaction (its state vector, before
 * and after), so the cost of a message grows with them: ~30 µs at 10, 3 ms at 5,000, 25 ms at
 * 20,000 (measured). A new server clientID per load (a room unloads after a quiet half minute)
 * gave a conversation with sporadic traffic one more for nearly every message it ever had, and
 * one more `clients` entry in the document.
 *
 * Why it is safe: only the process that holds the room writes with a server clientID, and
 * whatever it wrote was stored before anyone saw it (persist, then broadcast), so the stored
 * state holds every struct of that clientID anyone has, and the next clock is free. The caller
 * must know that no earlier room of this document in this process still has a write on its way
 * to the store (Rooms waits for that, else loads with a fresh clientID). Across nodes the
 * fenced log decides: of two owners appending at one position, one fails and broadcast nothing.
 */
export function resumeServerClient(doc: Y.Doc): number | undefined {
  let best: number | undefined;
  let bestClock = 0;
  conversationRoots(doc).clients.forEach((author, client) => {
    if (author !== SERVER_AUTHOR) return;
    const clock = Y.getState(doc.store, Number(client));
    if (clock > bestClock) {
      best = Number(client);
      bestClock = clock;
    }
  });
  if (best !== undefined) doc.clientID = best;
  return best;
}
