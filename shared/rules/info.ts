/**
 * @module Rules for `meta` and `settings`: a group's genesis by its creator; later, info and
 * settings by owner/admin, dissolve by the owner. Private, system and assistant conversations are
 * created and described by the server only.
 */
import {
  ConversationStatus,
  ConversationType,
  DEFAULT_MAX_MEMBER_COUNT,
  MemberRole,
} from '../enums.js';
import { isIdentityId } from '../ids.js';
import { EDITABLE_META_FIELDS, GENESIS_META_FIELDS, SERVER_META_FIELDS } from '../schema.js';
import { groupChangeViolation, manages, writerRole } from './access.js';
import {
  after,
  isRecord,
  isShortString,
  isTime,
  onlyFields,
  type RuleContext,
  type RuleViolation,
  sensitiveText,
  violation,
} from './context.js';

const SETTINGS: Record<string, (v: unknown) => boolean> = {
  allowInvite: (v) => typeof v === 'boolean',
  allowMemberExit: (v) => typeof v === 'boolean',
  enableMessageHistory: (v) => typeof v === 'boolean',
  messageRetentionDays: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 3650,
  enableNotification: (v) => typeof v === 'boolean',
  muteAll: (v) => typeof v === 'boolean',
};

/** Whether this update is the genesis of a group (it writes `meta.key` to a document without it). */
export function isGroupGenesis(ctx: RuleContext): boolean {
  return (
    ctx.parsed.type === ConversationType.Group &&
    !ctx.doc.getMap('meta').has('key') &&
    ctx.writes.get('meta')?.has('key') === true
  );
}

/** Judges one write to `meta`. */
export function checkMetaWrite(
  ctx: RuleContext,
  field: string,
  value: unknown,
  genesis: boolean,
): RuleViolation | undefined {
  const refused = groupChangeViolation(ctx, 'meta');
  if (refused) return refused;
  const role = writerRole(ctx, genesis);
  if ((SERVER_META_FIELDS as readonly string[]).includes(field))
    return violation('SERVER_ONLY', `meta.${field} is written by the server`);
  if ((GENESIS_META_FIELDS as readonly string[]).includes(field)) {
    if (!genesis) return violation('SCHEMA_VIOLATION', `meta.${field} is set once, at creation`);
    const problem = genesisField(ctx, field, value);
    return problem ? violation('SCHEMA_VIOLATION', problem) : undefined;
  }
  if (field === 'status') {
    if (genesis)
      return value === ConversationStatus.Normal
        ? undefined
        : violation('SCHEMA_VIOLATION', 'a group starts with status 1');
    if (role !== MemberRole.Owner)
      return violation('ROLE_FORBIDDEN', 'only the owner dissolves the group');
    return value === ConversationStatus.Dissolved
      ? undefined
      : violation('SCHEMA_VIOLATION', 'status only changes to dissolved (2)');
  }
  if (!(EDITABLE_META_FIELDS as readonly string[]).includes(field))
    return violation('SCHEMA_VIOLATION', `unknown meta field "${field.slice(0, 40)}"`);
  if (!manages(role)) return violation('ROLE_FORBIDDEN', 'owner and admins edit group info');
  const problem = editableField(ctx, field, value);
  if (problem) return violation('SCHEMA_VIOLATION', problem);
  if (field === 'name') return sensitiveText(ctx, value, 'the group name');
  if (field === 'announcement' && isRecord(value))
    return sensitiveText(ctx, value.text, 'the announcement');
  return undefined;
}

/** A group's genesis must set the whole meta and make its creator the active owner. */
export function checkGenesisComplete(ctx: RuleContext): RuleViolation | undefined {
  const meta = ctx.writes.get('meta');
  for (const field of [...GENESIS_META_FIELDS, 'status', 'name']) {
    if (!meta?.has(field))
      return violation('SCHEMA_VIOLATION', `a group's genesis sets meta.${field}`);
  }
  const creator = after(ctx, 'members', ctx.author.id) as
    | { role?: unknown; status?: unknown }
    | undefined;
  if (creator?.role !== MemberRole.Owner || creator.status !== 1) {
    return violation('SCHEMA_VIOLATION', "a group's genesis makes its creator the active owner");
  }
  return undefined;
}

function genesisField(ctx: RuleContext, field: string, value: unknown): string | undefined {
  switch (field) {
    case 'key':
      return value === ctx.parsed.key ? undefined : 'meta.key must be the document name';
    case 'type':
      return value === ConversationType.Group ? undefined : 'meta.type must be group';
    case 'createdBy':
      return value === ctx.author.id ? undefined : 'meta.createdBy must be the creator';
    case 'maxMemberCount':
      return Number.isInteger(value) &&
        (value as number) >= 2 &&
        (value as number) <= DEFAULT_MAX_MEMBER_COUNT
        ? undefined
        : `meta.maxMemberCount must be 2..${DEFAULT_MAX_MEMBER_COUNT}`;
  }
  return undefined;
}

function editableField(ctx: RuleContext, field: string, value: unknown): string | undefined {
  switch (field) {
    case 'name':
      return isShortString(value, 100, 1) ? undefined : 'name must be 1..100 characters';
    case 'avatar':
      return value === undefined || isShortString(value, 255)
        ? undefined
        : 'avatar must be at most 255 characters';
    case 'announcement': {
      if (value === undefined) return undefined;
      if (!isRecord(value) || onlyFields(value, ['text', 'by', 'at']))
        return 'announcement is { text, by, at }';
      if (!isShortString(value.text, 2000)) return 'announcement text is at most 2000 characters';
      if (value.by !== ctx.author.id || !isIdentityId(value.by))
        return 'announcement.by must be its author';
      return isTime(value.at) ? undefined : 'announcement.at must be a time in ms';
    }
  }
  return undefined;
}

/** Judges one write to `settings`. */
export function checkSettingsWrite(
  ctx: RuleContext,
  field: string,
  value: unknown,
  genesis: boolean,
): RuleViolation | undefined {
  const refused = groupChangeViolation(ctx, 'settings');
  if (refused) return refused;
  const role = writerRole(ctx, genesis);
  if (!manages(role)) return violation('ROLE_FORBIDDEN', 'owner and admins change settings');
  const valid = SETTINGS[field];
  if (!valid) return violation('SCHEMA_VIOLATION', `unknown setting "${field.slice(0, 40)}"`);
  return valid(value) ? undefined : violation('SCHEMA_VIOLATION', `invalid value for ${field}`);
}
