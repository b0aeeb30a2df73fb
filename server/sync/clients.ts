/**
 * @module Authorship: a Yjs clientID belongs to the identity that first wrote with it. The
 * binding lives in the document's server-only `clients` map, so it persists with the document
 * and every replica can see who wrote what.
 *
 * A struct's `id.client` is the only author information Yjs has, and a client picks it freely,
 * so the server checks it: a clientID bound to someone else is refused, and a fresh one must
 * start at clock 0 (otherwise it claims structs that were never seen). Bindings are per
 * identity, not per socket, so reconnects and persisted offline documents keep working.
 */
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { ConvosyncError } from '../../shared/errors.js';
import type { IdentityId } from '../../shared/ids.js';
import { conversationRoots } from '../../shared/schema.js';

export interface AuthorshipFailure {
  error: ConvosyncError;
  clientId: number;
  clock: number;
}

const NONE_ANNOUNCED: ReadonlyMap<number, IdentityId> = new Map();

/**
 * Checks the clients of an update; returns the clientIDs to bind once it is accepted. A clientID
 * another identity announced in this room's awareness is theirs too, though they have not
 * written with it yet: binding it would let a member take over a reader's Yjs clientID (and make
 * that reader's next presence update, and its first write, refused).
 */
export function checkAuthorship(
  doc: Y.Doc,
  author: IdentityId,
  clients: ReadonlyMap<number, number>,
  announced: ReadonlyMap<number, IdentityId> = NONE_ANNOUNCED,
): { bind: number[] } | AuthorshipFailure {
  const bindings = conversationRoots(doc).clients;
  const bind: number[] = [];
  for (const [clientId, clock] of clients) {
    const bound = bindings.get(String(clientId));
    if (bound === author) continue;
    const owner = bound ?? announced.get(clientId);
    if (owner !== undefined && owner !== author) {
      return {
        error: new ConvosyncError(
          'CLIENT_ID_TAKEN',
          `clientID ${clientId} belongs to another author`,
        ),
        clientId,
        clock,
      };
    }
    if (Y.getState(doc.store, clientId) !== 0) {
      return {
        error: new ConvosyncError(
          'CLIENT_ID_TAKEN',
          `clientID ${clientId} has history but no author`,
        ),
        clientId,
        clock,
      };
    }
    bind.push(clientId);
  }
  return { bind };
}

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** JSON text of the state; "null" when the client left. */
  state: string;
}

/** Decodes an awareness update (y-protocols/awareness wire format) without applying it. */
export function readAwarenessEntries(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      clientId: decoding.readVarUint(decoder),
      clock: decoding.readVarUint(decoder),
      state: decoding.readVarString(decoder),
    });
  }
  return entries;
}

/**
 * Awareness states carry clientIDs too: each must be bound to this identity, or be fresh (no
 * history in the document) and not claimed in awareness by another identity of this room.
 * A state must be JSON, and one that names a `user` (shared/presence.ts) must name this one.
 * Throws when a state is not JSON (the caller turns that into MALFORMED_MESSAGE).
 */
export function checkAwareness(
  doc: Y.Doc,
  author: IdentityId,
  entries: readonly AwarenessEntry[],
  claimed: ReadonlyMap<number, IdentityId>,
  maxStateBytes: number,
  authorType?: number,
): ConvosyncError | undefined {
  const bindings = conversationRoots(doc).clients;
  for (const { clientId, state } of entries) {
    if (state.length > maxStateBytes) {
      return new ConvosyncError(
        'AWARENESS_REJECTED',
        `awareness state over ${maxStateBytes} bytes`,
      );
    }
    const impersonated = claimsOther(JSON.parse(state), author, authorType);
    if (impersonated) return new ConvosyncError('AWARENESS_REJECTED', impersonated);
    const owner = bindings.get(String(clientId)) ?? claimed.get(clientId);
    if (owner !== undefined && owner !== author) {
      return new ConvosyncError(
        'AWARENESS_REJECTED',
        `clientID ${clientId} belongs to another author`,
      );
    }
    if (owner === undefined && Y.getState(doc.store, clientId) !== 0) {
      return new ConvosyncError(
        'AWARENESS_REJECTED',
        `clientID ${clientId} has history but no author`,
      );
    }
  }
  return undefined;
}

/**
 * Why a state's `user` is not the author (a reason), or undefined. Viewers trust `user.id` to
 * tell who is online and typing, so it must be the socket's identity; states without a
 * `user.id` (other schemas) claim nobody and pass.
 */
function claimsOther(
  state: unknown,
  author: IdentityId,
  authorType: number | undefined,
): string | undefined {
  if (typeof state !== 'object' || state === null || !('user' in state)) return undefined;
  const user: unknown = state.user;
  if (typeof user !== 'object' || user === null) return undefined;
  if ('id' in user && user.id !== author) return `user.id must be ${author}`;
  if (authorType !== undefined && 'type' in user && user.type !== authorType)
    return `user.type must be ${authorType}`;
  return undefined;
}
