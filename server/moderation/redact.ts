/**
 * @module What a room persists and broadcasts for a step whose new messages were censored.
 *
 * The client's own update holds the original text, and Yjs has no way to take content out of an
 * update. But the document, after the server transaction overwrote those messages, no longer
 * does: with `gc` on, the overwritten item keeps its id and position and loses its content. So
 * the step's changes are taken from the document instead, from where the step's updates start.
 */
import * as Y from 'yjs';

/** The changes of `updates` (and nothing older) as `doc` holds them now. */
export function redactedUpdate(doc: Y.Doc, updates: readonly Uint8Array[]): Uint8Array {
  const merged = updates.length === 1 ? updates[0]! : Y.mergeUpdates([...updates]);
  const start = Y.decodeStateVector(Y.encodeStateVector(doc));
  for (const [client, clock] of Y.parseUpdateMeta(merged).from) start.set(client, clock);
  return Y.encodeStateAsUpdate(doc, Y.encodeStateVector(start));
}
