/**
 * @module Rules for an inbox document (`inbox_{identityId}`): `entries` (one per conversation:
 * name, preview, unread) are the server's; `prefs` (pin, mute, archive, draft) are written by the
 * inbox's owner from any of its devices.
 */
import { tryParseKey } from '../keys.js';
import {
  isRecord,
  isShortString,
  onlyFields,
  type RuleContext,
  type RuleViolation,
  violation,
} from './context.js';

export const MAX_DRAFT_LENGTH = 5000;

export function checkPrefsWrite(
  ctx: RuleContext,
  key: string,
  value: unknown,
): RuleViolation | undefined {
  if (ctx.parsed.type !== 'inbox' || ctx.parsed.owner !== ctx.author.id)
    return violation('NOT_OWN_STATE', 'inbox preferences are written by the inbox owner');
  if (tryParseKey(key)?.key !== key)
    return violation('SCHEMA_VIOLATION', 'prefs are keyed by conversation key');
  if (value === undefined) return undefined; // clearing every preference of a conversation
  if (!isRecord(value) || onlyFields(value, ['pinned', 'muted', 'archived', 'draft', 'deletedAt']))
    return violation(
      'SCHEMA_VIOLATION',
      'prefs are { pinned?, muted?, archived?, draft?, deletedAt? }',
    );
  for (const flag of ['pinned', 'muted', 'archived'] as const) {
    if (value[flag] !== undefined && typeof value[flag] !== 'boolean')
      return violation('SCHEMA_VIOLATION', `${flag} is a boolean`);
  }
  if (
    value.deletedAt !== undefined &&
    (typeof value.deletedAt !== 'number' || !Number.isSafeInteger(value.deletedAt))
  )
    return violation('SCHEMA_VIOLATION', 'deletedAt is a time in ms');
  if (value.draft !== undefined && !isShortString(value.draft, MAX_DRAFT_LENGTH))
    return violation('SCHEMA_VIOLATION', `a draft is at most ${MAX_DRAFT_LENGTH} characters`);
  return undefined;
}
