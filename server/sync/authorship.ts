/**
 * @module What the server tells an SDK peer about its own writes (`accepted` messages): how far
 * the server now holds each client a step changed, and, for a peer the room refuses, how far it
 * holds each clientID bound to that identity (an ack lost when it went offline).
 */
import * as Y from 'yjs';
import type { IdentityId } from '../../shared/ids.js';
import * as wire from '../../shared/protocol/sync.js';
import { conversationRoots } from '../../shared/schema.js';

/** The `accepted` frame for every client whose state moved since `before`, if any moved. */
export function acceptedSince(doc: Y.Doc, before: Map<number, number>): Uint8Array | undefined {
  const states: Array<[number, number]> = [];
  for (const [client, structs] of doc.store.clients.entries()) {
    const state = clockOf(structs);
    if ((before.get(client) ?? 0) !== state) states.push([client, state]);
  }
  return states.length > 0 ? wire.writeAccepted(states) : undefined;
}

/** The `accepted` frame for every clientID bound to `identity`, if it has any. */
export function acceptedOwnWrites(doc: Y.Doc, identity: IdentityId): Uint8Array | undefined {
  const states: Array<[number, number]> = [];
  for (const [client, owner] of conversationRoots(doc).clients.entries())
    if (owner === identity) states.push([Number(client), Y.getState(doc.store, Number(client))]);
  return states.length > 0 ? wire.writeAccepted(states) : undefined;
}

/** Each client's state (next clock), read without encoding a state vector. */
export function clientStates(doc: Y.Doc): Map<number, number> {
  const states = new Map<number, number>();
  for (const [client, structs] of doc.store.clients.entries()) states.set(client, clockOf(structs));
  return states;
}

function clockOf(structs: ReadonlyArray<{ id: { clock: number }; length: number }>): number {
  const last = structs[structs.length - 1];
  return last ? last.id.clock + last.length : 0;
}
