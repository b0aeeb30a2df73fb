/**
 * @module What the server tells an SDK peer about its own writes (`accepted` messages): how far
 * the server now holds each client a step changed, and, for a peer the room refuses, how far it
 * holds each clientID bound to that identity (an ack lost when it went offline).
 */
import * as Y from 'yjs';
import type { IdentityId } from '../../shared/ids.js';
import * as wire from '../../shared/protocol/sync.js';
import { conversationRoots } from '../../shared/schema.js';

/**
 * The `accepted` frame for every client whose state `transaction` moved, if any moved. Yjs
 * records the states before and after every transaction: read from there, not by scanning every
 * client the document ever had twice more per step (a long-lived conversation has thousands).
 */
export function acceptedIn(transaction: Y.Transaction): Uint8Array | undefined {
  const states: Array<[number, number]> = [];
  for (const [client, state] of transaction.afterState)
    if ((transaction.beforeState.get(client) ?? 0) !== state) states.push([client, state]);
  return states.length > 0 ? wire.writeAccepted(states) : undefined;
}

/** The `accepted` frame for every clientID bound to `identity`, if it has any. */
export function acceptedOwnWrites(doc: Y.Doc, identity: IdentityId): Uint8Array | undefined {
  const states: Array<[number, number]> = [];
  for (const [client, owner] of conversationRoots(doc).clients.entries())
    if (owner === identity) states.push([Number(client), Y.getState(doc.store, Number(client))]);
  return states.length > 0 ? wire.writeAccepted(states) : undefined;
}
