/**
 * @module Rules for `reads` (read positions) and `profiles` (a member's own nickname and mute):
 * each identity writes only its own keys. A read position is per device
 * (`{identityId}:{deviceId}`), so two devices of one identity never write the same key and never
 * conflict; the identity's position is the maximum over its devices. It only moves forward.
 */
import { ConversationStatus } from '../enums.js';
import { isDeviceId } from '../ids.js';
import { canRead } from './access.js';
import {
  isRecord,
  isShortString,
  onlyFields,
  type RuleContext,
  type RuleViolation,
  sensitiveText,
  violation,
} from './context.js';

export function checkReadWrite(
  ctx: RuleContext,
  key: string,
  value: unknown,
  previous: unknown,
): RuleViolation | undefined {
  const cut = key.lastIndexOf(':');
  const identity = key.slice(0, cut);
  const device = key.slice(cut + 1);
  if (cut < 0 || identity !== ctx.author.id || !isDeviceId(device)) {
    return violation(
      'NOT_OWN_STATE',
      'a read position is written by its own identity, keyed {identityId}:{deviceId}',
    );
  }
  if (!canRead(ctx.doc, ctx.parsed, ctx.author)) return violation('NOT_MEMBER');
  if (value === undefined) return violation('SCHEMA_VIOLATION', 'read positions are never deleted');
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > ctx.lastSeq) {
    return violation('SCHEMA_VIOLATION', `a read position is a seq in 0..${ctx.lastSeq}`);
  }
  if (typeof previous === 'number' && (value as number) < previous) {
    return violation('READ_BACKWARDS', `from ${previous} back to ${String(value)}`);
  }
  return undefined;
}

/** An identity's read position: the furthest any of its devices got. */
export function readPosition(reads: Iterable<[string, number]>, identity: string): number {
  let max = 0;
  const prefix = `${identity}:`;
  // The device id is what follows the last ':' (as checkReadWrite splits the key).
  for (const [key, seq] of reads)
    if (seq > max && key.startsWith(prefix) && key.lastIndexOf(':') === identity.length) max = seq;
  return max;
}

/** Every identity's read position at once (one pass over the reads, not one per identity). */
export function readPositions(reads: Iterable<[string, number]>): Map<string, number> {
  const positions = new Map<string, number>();
  for (const [key, seq] of reads) {
    const identity = key.slice(0, key.lastIndexOf(':'));
    if (seq > (positions.get(identity) ?? 0)) positions.set(identity, seq);
  }
  return positions;
}

export function checkProfileWrite(
  ctx: RuleContext,
  key: string,
  value: unknown,
): RuleViolation | undefined {
  if (key !== ctx.author.id)
    return violation('NOT_OWN_STATE', 'a profile is written by its own identity');
  if (!canRead(ctx.doc, ctx.parsed, ctx.author)) return violation('NOT_MEMBER');
  // Archived is read-only (status.ts): a nickname or a picture is the conversation's content as
  // its members see it. (A dissolved group refuses every write but read marks already.)
  if (ctx.doc.getMap('meta').get('status') === ConversationStatus.Archived)
    return violation('CONVERSATION_ARCHIVED');
  if (!isRecord(value) || onlyFields(value, ['nickname', 'avatar', 'muteNotification'])) {
    return violation('SCHEMA_VIOLATION', 'a profile is { nickname?, avatar?, muteNotification? }');
  }
  if (value.nickname !== undefined && !isShortString(value.nickname, 100))
    return violation('SCHEMA_VIOLATION', 'nickname is at most 100 characters');
  if (typeof value.nickname === 'string') {
    const taken = impersonated(ctx, value.nickname);
    if (taken)
      return violation('SCHEMA_VIOLATION', `nickname cannot be another member's id (${taken})`);
    const sensitive = sensitiveText(ctx, value.nickname, 'the nickname');
    if (sensitive) return sensitive;
  }
  // t_conversation_member.avatar is VARCHAR(255).
  if (value.avatar !== undefined && !isShortString(value.avatar, 255))
    return violation('SCHEMA_VIOLATION', 'avatar is at most 255 characters');
  if (value.muteNotification !== undefined && typeof value.muteNotification !== 'boolean') {
    return violation('SCHEMA_VIOLATION', 'muteNotification is a boolean');
  }
  return undefined;
}

/**
 * The other member whose id `nickname` is (ignoring case and surrounding space), if any: a
 * nickname "bob" next to the real bob would let its holder pass for him (WeChat and Slack keep
 * display names apart from the ids that mention and search use).
 */
function impersonated(ctx: RuleContext, nickname: string): string | undefined {
  const wanted = nickname.trim().toLowerCase();
  if (wanted === '' || wanted === ctx.author.id.toLowerCase()) return undefined;
  for (const id of ctx.doc.getMap('members').keys()) if (id.toLowerCase() === wanted) return id;
  const written = ctx.writes.get('members');
  for (const id of written?.keys() ?? []) if (id.toLowerCase() === wanted) return id;
  return undefined;
}
