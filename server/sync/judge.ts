/**
 * @module A peer's update judged before it touches the document, cheapest first: the filter
 * (pure: decode, rules, bindings), then the sources of forwarded messages (which may read other
 * rooms), then moderation (words, rate limits, which may ask Redis). The first refusal wins.
 * REST writes are judged by the same rules in submit.ts.
 */
import type * as Y from 'yjs';
import type { IdentityId } from '../../shared/ids.js';
import type { ParsedDoc } from '../../shared/keys.js';
import type { Identity } from '../auth/identity.js';
import type { Metrics } from '../metrics.js';
import type { Moderation } from '../moderation/moderation.js';
import type { FilterInput, Verdict } from './filter.js';
import { badForward, type ForwardSource } from './forward.js';

export interface JudgeContext {
  doc: Y.Doc;
  parsed: ParsedDoc;
  filter: (input: FilterInput) => Verdict;
  forwardSource: ForwardSource;
  /** Awareness clientIDs announced in the room, by identity: not bindable by another. */
  awarenessOwners: ReadonlyMap<number, IdentityId>;
  moderation?: Moderation;
  metrics?: Metrics;
}

/** The verdict on `update` by `identity` at server time `now`, the last seq being `lastSeq`. */
export async function judgeUpdate(
  ctx: JudgeContext,
  identity: Identity,
  update: Uint8Array,
  now: number,
  lastSeq: number,
): Promise<Verdict> {
  const { doc, parsed } = ctx;
  const judging = process.hrtime.bigint();
  const verdict = ctx.filter({
    doc,
    parsed,
    identity,
    update,
    now,
    lastSeq,
    awarenessOwners: ctx.awarenessOwners,
  });
  ctx.metrics?.filterSeconds.observe(Number(process.hrtime.bigint() - judging) / 1e9);
  if (!verdict.ok) return verdict;
  if (verdict.forwards.length > 0) {
    const bad = await badForward(doc, parsed, identity, verdict, ctx.forwardSource);
    if (bad) return { ok: false, ...bad };
  }
  const refused = await ctx.moderation?.admit(identity, parsed.key, doc, verdict);
  return refused ? { ok: false, ...refused } : verdict;
}
