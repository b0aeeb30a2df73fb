/**
 * @module Who hears a durable step, and what: one frame per step to each peer, the writer's echo
 * as the stock y-websocket server gives it (cut down for a large step), nothing back for an
 * update the server wrote nothing after, and the order of a removal against its broadcast.
 */
import * as Y from 'yjs';
import * as wire from '../../shared/protocol/sync.js';
import type { CommitPlan } from './commit.js';
import type { Peer, StepUpdate } from './peer.js';

/**
 * Steps up to this size go to their writer whole, like the stock server's echo (cheaper than a
 * second encoding); a larger one is cut down to what the writer did not send.
 */
const ECHO_MAX_BYTES = 4096;

/** The updates of a step as one update (most steps are one update event: nothing to merge). */
export function oneUpdate(batch: readonly StepUpdate[]): Uint8Array {
  return batch.length === 1 ? batch[0]!.update : Y.mergeUpdates(batch.map((b) => b.update));
}

/**
 * Sends the durable step `merged` (of `batch`) to `peers`, one frame each: every peer hears the
 * whole step (the client's update with its stamps) as one update, the writer of a small stamped
 * update too (of a large one, only what it did not send). Writers of an update the server wrote
 * nothing after (a read position) hear only what they did not write, nothing when that is all.
 * A censored step goes whole to all, its writer too (its view becomes the censored one).
 */
export function broadcast(
  peers: ReadonlySet<Peer>,
  merged: Uint8Array,
  batch: readonly StepUpdate[],
  censored: boolean,
): void {
  if (peers.size === 0) return;
  // A writer whose update carries its stamps hears the whole step, as the stock y-websocket
  // server echoes every update to its sender (Yjs skips what it already has): one encoding
  // for every peer instead of a second one of the stamps alone.
  const writers = censored
    ? []
    : batch.flatMap((b) =>
        b.origin.source === 'peer' && !b.origin.stamped ? [b.origin.peer] : [],
      );
  const frame = wire.writeUpdate(merged);
  const large = merged.byteLength > ECHO_MAX_BYTES;
  const echoes: [Peer, Map<number, number>][] = [];
  for (const peer of peers) {
    if (!writers.includes(peer)) {
      const own = large ? receivedFrom(batch, peer) : undefined;
      // A large step is not echoed to its writer: it hears its stamps alone (one more parse
      // of the step, below), so a writer of big updates is not charged twice their bytes, nor
      // taken for a slow reader while it sends.
      if (own) echoes.push([peer, own]);
      else peer.send(frame);
      continue;
    }
    const rest = batch.filter((b) => !(b.origin.source === 'peer' && b.origin.peer === peer));
    if (rest.length === 0) continue;
    peer.send(wire.writeUpdate(oneUpdate(rest)));
  }
  if (echoes.length === 0) return;
  // Cutting a large step down takes a while (8 ms for 1,000 offline messages): its readers'
  // frames go out first instead of waiting corked until the end of the tick.
  for (const peer of peers) peer.flush?.();
  for (const [peer, own] of echoes)
    peer.send(wire.writeUpdate(Y.diffUpdate(merged, Y.encodeStateVector(own))));
}

/** Where `peer`'s stamped update in this batch ends, per client; undefined if it wrote none. */
function receivedFrom(batch: readonly StepUpdate[], peer: Peer): Map<number, number> | undefined {
  let own: Map<number, number> | undefined;
  for (const { origin } of batch) {
    if (origin.source !== 'peer' || origin.peer !== peer || !origin.received) continue;
    own ??= new Map();
    for (const [client, clock] of Y.parseUpdateMeta(origin.received).to)
      own.set(client, Math.max(clock, own.get(client) ?? 0));
  }
  return own;
}

/**
 * A step that changes only membership goes to a removed member's devices too, so they hold
 * their removal ("you were removed", offline and after a reload): their sockets close after the
 * broadcast. A step with anything else (an offline batch: "remove carol", then a message about
 * her) must not reach them: their sockets close first, and they learn it from the NOT_MEMBER
 * refusal.
 */
export function removedHearIt(plan: Pick<CommitPlan, 'writes'>): boolean {
  return [...plan.writes.keys()].every((root) => root === 'members');
}
