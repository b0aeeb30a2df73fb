/**
 * @module Server writes that follow an accepted update: bindings of fresh clientIDs, the stamps
 * (seq, BIGINT id, accepted time) of new messages, and the recall time of recalled ones.
 *
 * They run in a local transaction: inside a remote one Yjs sees its own clientID's state change
 * and silently replaces `doc.clientID` (findings §2, "Pitfall hit"). A peer's update and its
 * stamps share one transaction (room.ts), marked local again once the update is applied, so
 * the step is one update event. Every server transaction also binds the server's
 * own clientID (a new one each time a document is loaded), so the filter can tell it apart.
 */
import type * as Y from 'yjs';
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
