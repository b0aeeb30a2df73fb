/**
 * @module Which (root, key)s of a conversation changed since a projection cursor (a state
 * vector): read from the document's struct store, from each client's clock at the cursor on.
 *
 * The first version encoded the difference as an update and decoded it again
 * (`encodeStateAsUpdate(doc, cursor)`), which also builds the delete set of the whole document:
 * a projection cost grew with the conversation's history, not with what changed. Walking the
 * structs after the cursor costs what changed. Deletions are not looked at either way (a
 * recall is an edit of the message's stamp; an expiry is found by retention).
 */
import * as Y from 'yjs';
import { rootsOf } from '../sync/resolve.js';
import type { Changes } from './events.js';

/** The (root, key)s that changed since `cursor` (all of them without a cursor). */
export function changedKeys(doc: Y.Doc, cursor: Uint8Array | undefined): Changes {
  const changes: Changes = {
    all: cursor === undefined,
    members: new Set(),
    messages: new Set(),
    readers: new Set(),
    meta: cursor === undefined,
  };
  if (!cursor) return changes;
  const rootOf = rootsOf(doc);
  const seen = Y.decodeStateVector(cursor);
  for (const [client, structs] of doc.store.clients) {
    const from = seen.get(client) ?? 0;
    const last = structs[structs.length - 1];
    if (!last || last.id.clock + last.length <= from) continue;
    // The struct holding clock `from` (it may have been merged with older ones since).
    for (let i = from === 0 ? 0 : Y.findIndexSS(structs, from); i < structs.length; i++) {
      const item = structs[i];
      if (!(item instanceof Y.Item) || item.parentSub === null) continue;
      const key = item.parentSub;
      switch (rootOf.get(item.parent)) {
        case 'members':
        case 'profiles':
          changes.members.add(key);
          break;
        case 'messages':
        case 'stamps':
          changes.messages.add(key);
          break;
        case 'reads':
          changes.readers.add(key.slice(0, key.lastIndexOf(':')));
          break;
        case 'meta':
        case 'settings':
          changes.meta = true;
          break;
      }
    }
  }
  return changes;
}
