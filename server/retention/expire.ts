/**
 * @module messageRetentionDays (ConversationSetting, seed §4): what leaves a document when its
 * messages are older than the setting allows. The message values go (a server deletion; the
 * next compaction drops their content from disk); their stamps stay, tiny, so `seq` stays
 * gap-free and read positions keep their meaning. Only accepted messages expire, by the
 * server's acceptance time.
 */
import type * as Y from 'yjs';
import { conversationRoots } from '../../shared/schema.js';

const DAY_MS = 86_400_000;

/** The acceptance time before which messages expire now, or undefined without retention. */
export function retentionCutoff(doc: Y.Doc, now: number): number | undefined {
  const days = conversationRoots(doc).settings.get('messageRetentionDays');
  return typeof days === 'number' && days > 0 ? now - days * DAY_MS : undefined;
}

/** Deletes the expired messages of `doc` (call inside a server transaction); how many. */
export function expireMessages(doc: Y.Doc, now: number): number {
  const cutoff = retentionCutoff(doc, now);
  if (cutoff === undefined) return 0;
  const { messages, stamps } = conversationRoots(doc);
  let expired = 0;
  for (const [key, stamp] of stamps.entries()) {
    if (stamp.at < cutoff && messages.has(key)) {
      messages.delete(key);
      expired += 1;
    }
  }
  return expired;
}

/** Ids of accepted messages whose value is gone (expired): their rows leave the tables. */
export function expiredMessageIds(doc: Y.Doc): string[] {
  const { messages, stamps } = conversationRoots(doc);
  const ids: string[] = [];
  for (const [key, stamp] of stamps.entries()) if (!messages.has(key)) ids.push(stamp.id);
  return ids;
}
