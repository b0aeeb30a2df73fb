/**
 * @module Presence: the awareness state a device publishes in each conversation it has open,
 * and the answer of the cross-conversation presence lookup. Isomorphic; the server checks
 * `user` against the socket's identity, the SDK reads these states into online and typing views.
 *
 * State (JSON, one per Yjs clientID, i.e. per open document per device):
 *   { user: { id, type }, device, typing?: { at } }
 * `typing.at` is the sender's clock at the keystroke that published it. Viewers never compare it
 * with their own clock (clocks differ between devices); they expire a typing state a fixed time
 * after they *saw* its `at` change, so a sender that vanishes without a clear still stops typing.
 */
import { type IdentityId, isIdentityId } from './ids.js';

export interface PresenceState {
  user: { id: IdentityId; type: number };
  /** The device's id (one identity may have several devices in one conversation). */
  device: string;
  typing?: { at: number };
}

/** One identity in `GET /api/v1/presence`. */
export interface PresenceEntry {
  identity: IdentityId;
  /** At least one socket of this identity is open, in any conversation. */
  online: boolean;
  /** Now while online; when its last socket closed while offline; null if never seen. */
  lastSeenAt: number | null;
}

/** Most identities one presence lookup may ask about. */
export const MAX_PRESENCE_LOOKUP = 100;

/**
 * The identity a state claims, when it claims one: `user.id` (a valid identity id) and
 * `user.type` (an integer). Undefined for states that follow another schema (stock clients may
 * publish anything, e.g. `{ cursor }`); those count for nobody's presence.
 */
export function readPresence(state: unknown): PresenceState | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const { user, device, typing } = state as Record<string, unknown>;
  if (typeof user !== 'object' || user === null) return undefined;
  const { id, type } = user as Record<string, unknown>;
  if (!isIdentityId(id) || !Number.isInteger(type)) return undefined;
  const at = (typing as { at?: unknown } | null | undefined)?.at;
  return {
    user: { id, type: type as number },
    device: typeof device === 'string' ? device : '',
    ...(typeof at === 'number' && Number.isFinite(at) ? { typing: { at } } : {}),
  };
}
