/**
 * @module Writes that come whole rather than as a Yjs update (REST, back-end jobs), judged by the
 * same rules as an update from a socket (checkWrites, then moderation) before the room commits
 * them; the system notes they cause are written in the same step.
 */
import type * as Y from 'yjs';
import type { MessageKey } from '../../shared/ids.js';
import type { ParsedDoc } from '../../shared/keys.js';
import { byRoot, type Write } from '../../shared/rules/context.js';
import { checkWrites } from '../../shared/rules/writes.js';
import { conversationRoots, type Message, type Stamp } from '../../shared/schema.js';
import { systemEvents } from '../../shared/system-events.js';
import type { Identity } from '../auth/identity.js';
import type { Moderation } from '../moderation/moderation.js';
import type { CommitPlan } from './commit.js';

export interface SubmitContext {
  doc: Y.Doc;
  parsed: ParsedDoc;
  /** The last seq stamped in the document. */
  lastSeq: number;
  moderation?: Moderation;
}

/**
 * Judges `writes` by `identity` at server time `now`: throws the rule violation or moderation's
 * refusal, else returns the plan to commit them by.
 */
export async function judgeSubmitted(
  ctx: SubmitContext,
  identity: Identity,
  writes: readonly Write[],
  now: number,
): Promise<CommitPlan> {
  const { doc, parsed, moderation } = ctx;
  const grouped = byRoot(writes);
  const rejected = checkWrites({
    doc,
    parsed,
    author: identity,
    now,
    lastSeq: ctx.lastSeq,
    writes: grouped,
    ...(moderation ? { sensitive: moderation.sensitive } : {}),
  });
  if (rejected) throw rejected.error;
  const refused = await moderation?.admit(identity, parsed.key, doc, { writes: grouped });
  if (refused) throw refused.error;
  const { messages } = conversationRoots(doc);
  const recalls = [...(grouped.get('messages')?.keys() ?? [])].filter((key) =>
    messages.has(key),
  ) as MessageKey[];
  const notes = systemEvents(doc, parsed, grouped, identity.id);
  return { bind: [], writes: grouped, recalls, notes };
}

/**
 * A retried send: every write is a message its author already sent under that key (a client
 * that lost the answer, a 503 after the owner wrote, and sends again with its own
 * `clientMessageKey`). Answers the stamps the first send got, so the retry writes nothing and
 * reads as the same message; undefined when anything in `writes` is new or different (judged as
 * usual: a key someone else used, or other content under one's own key, is refused by the rules).
 */
export function alreadySent(
  doc: Y.Doc,
  identity: Identity,
  writes: readonly Write[],
): Stamp[] | undefined {
  if (writes.length === 0) return undefined;
  const { messages, stamps } = conversationRoots(doc);
  const found: Stamp[] = [];
  for (const write of writes) {
    if (write.root !== 'messages') return undefined;
    const existing = messages.get(write.key);
    const stamp = stamps.get(write.key);
    const value = write.value as Partial<Message> | undefined;
    // The same message again; a recall (the tombstone) or other content is a change, judged.
    if (
      !existing ||
      !stamp ||
      existing.sender !== identity.id ||
      value?.recalled ||
      value?.content !== existing.content ||
      value?.format !== existing.format
    )
      return undefined;
    found.push(stamp);
  }
  return found;
}

/** Writes `writes` to the document as they are (the commit's transaction runs this first). */
export function applyWrites(doc: Y.Doc, writes: readonly Write[]): void {
  for (const w of writes) doc.getMap(w.root).set(w.key, w.value);
}
