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
import { conversationRoots } from '../../shared/schema.js';
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

/** Writes `writes` to the document as they are (the commit's transaction runs this first). */
export function applyWrites(doc: Y.Doc, writes: readonly Write[]): void {
  for (const w of writes) doc.getMap(w.root).set(w.key, w.value);
}
