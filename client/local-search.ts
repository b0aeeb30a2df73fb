/**
 * @module `client.search`: message search over every conversation document this device holds,
 * offline. Open conversations are searched in their live document; the others are loaded from
 * the store into a temporary document that is searched and dropped (it is never connected, so
 * nothing is sent or fetched).
 */
import * as Y from 'yjs';
import { ConvosyncError } from '../shared/errors.js';
import type { IdentityId } from '../shared/ids.js';
import { type ConversationKey, tryParseKey } from '../shared/keys.js';
import { searchQuery } from '../shared/search.js';
import { type LocalSearchHit, newestFirst, searchDocument } from './search.js';
import type { ClientStore } from './store/types.js';

export interface LocalSearchOptions {
  /** At most this many hits, newest first (1–1000, default 50). */
  limit?: number;
}

export interface DeviceSearchDeps {
  store: ClientStore;
  identity: IdentityId;
  /** The live document of an open conversation, or undefined when it is not open. */
  openDoc(key: ConversationKey): Promise<Y.Doc | undefined>;
}

export async function searchDevice(
  deps: DeviceSearchDeps,
  query: unknown,
  options: LocalSearchOptions = {},
): Promise<LocalSearchHit[]> {
  const q = searchQuery(query);
  const limit = options.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new ConvosyncError('BAD_REQUEST', 'limit: an integer from 1 to 1000');
  const hits: LocalSearchHit[] = [];
  for (const name of await deps.store.names()) {
    const parsed = tryParseKey(name);
    if (!parsed) continue; // not a conversation (an inbox, say)
    const live = await deps.openDoc(parsed.key);
    if (live) {
      hits.push(...searchDocument(live, parsed.key, deps.identity, q));
      continue;
    }
    const doc = new Y.Doc();
    try {
      const detach = await deps.store.attach(name, doc, () => {});
      await detach();
      hits.push(...searchDocument(doc, parsed.key, deps.identity, q));
    } finally {
      doc.destroy();
    }
  }
  return hits.sort(newestFirst).slice(0, limit);
}
