/**
 * @module Who is online, across every conversation: the open sockets of each identity, and when
 * its last one closed. A contact list asks here instead of opening every chat.
 *
 * The interface is the seam for several nodes: a Redis implementation would keep a counter per
 * identity (INCR/DECR, plus a per-node set so a crashed node's sockets can be subtracted) and a
 * last-seen hash; `lookup` is async for that reason. This one is in memory, for one node: a
 * restart forgets last-seen times, and offline entries beyond `maxEntries` are forgotten
 * oldest first, so memory stays bounded however many identities ever connected.
 */
import type { IdentityId } from '../shared/ids.js';
import type { PresenceEntry } from '../shared/presence.js';

export interface PresenceRegistry {
  /** A socket of `identity` joined a conversation. */
  connected(identity: IdentityId): void;
  /** A socket that `connected` counted has closed. */
  disconnected(identity: IdentityId): void;
  lookup(identities: readonly IdentityId[]): Promise<PresenceEntry[]>;
}

interface Seen {
  sockets: number;
  /** When the last socket closed (meaningful while sockets is 0). */
  lastSeenAt: number;
}

export function memoryPresence(
  options: { now?: () => number; maxEntries?: number } = {},
): PresenceRegistry {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 100_000;
  // Insertion order doubles as eviction order: an entry is re-inserted whenever it goes offline.
  const seen = new Map<IdentityId, Seen>();

  const evict = () => {
    for (const [identity, entry] of seen) {
      if (seen.size <= maxEntries) return;
      if (entry.sockets === 0) seen.delete(identity);
    }
  };

  return {
    connected(identity) {
      const entry = seen.get(identity);
      if (entry) entry.sockets += 1;
      else seen.set(identity, { sockets: 1, lastSeenAt: now() });
    },
    disconnected(identity) {
      const entry = seen.get(identity);
      if (!entry || entry.sockets === 0) return;
      entry.sockets -= 1;
      entry.lastSeenAt = now();
      if (entry.sockets > 0) return;
      seen.delete(identity);
      seen.set(identity, entry);
      if (seen.size > maxEntries) evict();
    },
    async lookup(identities) {
      const at = now();
      return identities.map((identity) => {
        const entry = seen.get(identity);
        if (!entry) return { identity, online: false, lastSeenAt: null };
        const online = entry.sockets > 0;
        return { identity, online, lastSeenAt: online ? at : entry.lastSeenAt };
      });
    },
  };
}
