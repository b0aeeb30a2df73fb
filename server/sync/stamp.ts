/**
 * @module Server writes that follow an accepted update: the stamps (seq, BIGINT id, accepted
 * time) of newly accepted messages.
 *
 * They run in their own local transaction after the remote apply, never inside it: inside a
 * remote transaction Yjs sees its own clientID's state change and silently replaces
 * `doc.clientID` (findings §2, "Pitfall hit").
 */
import type * as Y from 'yjs';
import type { MessageKey } from '../../shared/ids.js';
import { conversationRoots, type Stamp } from '../../shared/schema.js';
import type { IdGenerator } from '../message-ids.js';

export interface Stamper {
  /** Stamps `keys` in order, in one transaction with `origin`; returns the stamps written. */
  stamp(doc: Y.Doc, keys: readonly MessageKey[], now: number, origin: unknown): Stamp[];
}

export function createStamper(ids: IdGenerator, lastSeq: number): Stamper {
  let seq = lastSeq;
  return {
    stamp(doc, keys, now, origin) {
      if (keys.length === 0) return [];
      const { stamps } = conversationRoots(doc);
      const written: Stamp[] = [];
      doc.transact(() => {
        for (const key of keys) {
          if (stamps.has(key)) continue; // stamped exactly once, whatever replays arrive
          seq += 1;
          const stamp: Stamp = { seq, id: ids.next(), at: now };
          stamps.set(key, stamp);
          written.push(stamp);
        }
      }, origin);
      return written;
    },
  };
}
