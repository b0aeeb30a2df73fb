/**
 * @module Server-made BIGINT ids (t_msg_body.message_id, t_conversation.conversation_id):
 * 41 bits of milliseconds since 2024-01-01, 10 bits of node id, 12 bits of sequence, so ids are
 * unique across nodes and increase with time.
 *
 * Unique across restarts too, even if the wall clock steps back: the generator persists a
 * reservation ("ids up to this millisecond may have been issued") before issuing ids in it, and
 * a restart starts after the last reservation.
 */
import type { MessageId } from '../shared/ids.js';
import type { DocStore } from './store/types.js';

const EPOCH = Date.UTC(2024, 0, 1);
const RESERVE_MS = 60_000;
const META_KEY = 'id-reserved-until';

/** Where the generator keeps its reservation: the DocStore's meta, or a leased node slot. */
export type IdReservations = Pick<DocStore, 'getMeta' | 'setMeta'>;

export interface IdGeneratorOptions {
  /**
   * Called before every id; throws when the node id may no longer be this node's (a leased node
   * slot that lapsed: cluster/node-slot.ts). Single-node mode has none.
   */
  guard?: () => void;
}

export interface IdGenerator {
  /** A new id, greater than every id this generator issued before. */
  next(): MessageId;
}

/**
 * When the id was issued (ms since 1970, by the issuing node's clock), or undefined for a
 * number that is no id of this layout (before the epoch).
 */
export function issuedAt(id: string): number | undefined {
  if (!/^\d{1,19}$/.test(id)) return undefined;
  const ms = Number(BigInt(id) >> 22n);
  return ms > 0 ? EPOCH + ms : undefined;
}

export async function createIdGenerator(
  store: IdReservations,
  nodeId: number,
  now: () => number = Date.now,
  options: IdGeneratorOptions = {},
): Promise<IdGenerator> {
  const stored = Number((await store.getMeta(META_KEY)) ?? 0);
  let lastMs = Math.max(now(), stored + 1);
  let sequence = 0;
  let reservedUntil = lastMs + RESERVE_MS;
  await store.setMeta(META_KEY, reservedUntil);
  let extending = false;

  const extend = () => {
    if (extending) return;
    extending = true;
    const until = lastMs + RESERVE_MS;
    store.setMeta(META_KEY, until).then(
      () => {
        reservedUntil = Math.max(reservedUntil, until);
        extending = false;
      },
      () => {
        // Retried on the next id; a dead store also fails the append of the stamp itself.
        extending = false;
      },
    );
  };

  return {
    next() {
      options.guard?.();
      const ms = Math.max(now(), lastMs);
      if (ms === lastMs) {
        sequence += 1;
        if (sequence > 0xfff) {
          lastMs += 1; // borrow the next millisecond rather than repeat an id
          sequence = 0;
        }
      } else {
        lastMs = ms;
        sequence = 0;
      }
      if (lastMs > reservedUntil - RESERVE_MS / 2) extend();
      const id = (BigInt(lastMs - EPOCH) << 22n) | (BigInt(nodeId) << 12n) | BigInt(sequence);
      return id.toString() as MessageId;
    },
  };
}
