/**
 * @module Tells a client's own awareness changes from echoes of what the server sent it.
 *
 * The stock y-websocket provider sends every awareness change it *hears* back to the server
 * (its update handler ignores the origin), and its own 30 s timeout removes remote states with
 * their last clock. So a socket routinely carries other identities' states. Those are never
 * news: every such entry has a clock the server has already seen. Only an entry newer than the
 * server's clock for its clientID is a change, and only those are checked (and may get the
 * socket closed as a forgery). A removal at the current clock is a change only from the state's
 * owner: that is how a provider says goodbye (it does not bump the clock), while from anyone else
 * it is a relayed timeout that must not take the owner offline.
 */
import type { AwarenessEntry } from './clients.js';

export function withoutEchoes(
  entries: readonly AwarenessEntry[],
  /** The server's current clock for a clientID, if it has seen one. */
  clockOf: (clientId: number) => number | undefined,
  /** Whether the sending socket's identity owns the clientID's state. */
  owns: (clientId: number) => boolean,
): AwarenessEntry[] {
  return entries.filter(({ clientId, clock, state }) => {
    const known = clockOf(clientId);
    if (known === undefined || clock > known) return true;
    return clock === known && state === 'null' && owns(clientId);
  });
}
