/**
 * @module Local message search: the messages of one conversation document that contain a
 * query, by the rules the server's search applies (shared/search.ts), so a search gives the
 * same kind of answer offline as online:
 * - case-insensitive substring match, no word splitting (Chinese matches like English);
 * - recalled messages are never found (their tombstone has empty content anyway), nor a
 *   group's system messages;
 * - a conversation the identity was removed from or left is not searched;
 * - with `enableMessageHistory: false`, only messages from the member's join time on.
 * Pending (not yet accepted) messages are found too: they are on the device.
 */
import type * as Y from 'yjs';
import { getMember, listMessages, type MessageView } from '../shared/conversation.js';
import { MemberStatus } from '../shared/enums.js';
import type { IdentityId } from '../shared/ids.js';
import type { ConversationKey } from '../shared/keys.js';
import { conversationRoots } from '../shared/schema.js';

export interface LocalSearchHit {
  conversationKey: ConversationKey;
  message: MessageView;
  /** When the server accepted it, or when it was written for a pending message (ms). */
  at: number;
}

/** Hits in `doc` for `query` (already validated by `searchQuery`), in no particular order. */
export function searchDocument(
  doc: Y.Doc,
  conversationKey: ConversationKey,
  identity: IdentityId,
  query: string,
): LocalSearchHit[] {
  const member = getMember(doc, identity);
  // No member entry yet is a conversation written offline before its first sync: searchable.
  if (member && member.status !== MemberStatus.Active) return [];
  const since =
    member && conversationRoots(doc).settings.get('enableMessageHistory') === false
      ? member.joinTime
      : Number.NEGATIVE_INFINITY;
  const needle = query.toLowerCase();
  const hits: LocalSearchHit[] = [];
  for (const message of listMessages(doc)) {
    // System messages are log events ("alice invited bob"), not text anyone wrote.
    if (message.recalled || message.system || !message.content) continue;
    const at = message.stamp?.at ?? message.sentAt;
    if (at < since) continue;
    if (message.content.toLowerCase().includes(needle)) hits.push({ conversationKey, message, at });
  }
  return hits;
}

/** Newest first; the same time breaks ties by key, so every run gives the same order. */
export function newestFirst(a: LocalSearchHit, b: LocalSearchHit): number {
  if (a.at !== b.at) return b.at - a.at;
  const ka = `${a.conversationKey}/${a.message.key}`;
  const kb = `${b.conversationKey}/${b.message.key}`;
  return ka < kb ? 1 : ka > kb ? -1 : 0;
}
