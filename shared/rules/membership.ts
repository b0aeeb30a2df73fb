/**
 * @module Rules for the `members` root (SPEC.md "Rules"): role changes as ./roles.ts reads the
 * spec (the owner sets any role; an admin only sets members back to plain); admins manage plain
 * members only; nobody becomes owner except by the owner's transfer; invites respect
 * `allowInvite` and the member limit; removal and exit set status exited with an exit time; the
 * owner leaves only after a transfer. Judged over the whole update, so a transfer (new owner +
 * old owner stepping down) is one consistent change.
 */
import { MemberRole, MemberStatus } from '../enums.js';
import { isIdentityId } from '../ids.js';
import type { Member } from '../schema.js';
import { groupChangeViolation, isMuted, outranks, writerRole } from './access.js';
import {
  after,
  isRecord,
  isTime,
  onlyFields,
  type RuleContext,
  type RuleViolation,
  violation,
} from './context.js';
import { roleChangeRefusal } from './roles.js';
import { isInt32 } from './storable.js';

/** Client times are accepted up to this far ahead of the server's clock. */
const CLOCK_SKEW_MS = 60_000;
const MEMBER_FIELDS = [
  'identityType',
  'role',
  'status',
  'joinTime',
  'exitTime',
  'invitedBy',
  'mutedUntil',
];

export function memberShapeError(value: unknown): string | undefined {
  if (!isRecord(value)) return 'a member is a plain object';
  const extra = onlyFields(value, MEMBER_FIELDS);
  if (extra) return `unknown member field "${extra.slice(0, 40)}"`;
  if (!isInt32(value.identityType)) return 'identityType must be a 32-bit integer';
  if (![MemberRole.Member, MemberRole.Admin, MemberRole.Owner].includes(value.role as MemberRole))
    return 'role must be 1, 2 or 3';
  if (value.status === MemberStatus.Active) {
    if (value.exitTime !== undefined) return 'an active member has no exitTime';
  } else if (value.status === MemberStatus.Exited) {
    if (!isTime(value.exitTime)) return 'an exited member needs exitTime';
  } else {
    return 'status must be 1 or 2';
  }
  if (!isTime(value.joinTime)) return 'joinTime must be a time in ms';
  if (value.invitedBy !== undefined && !isIdentityId(value.invitedBy))
    return 'invitedBy must be an identity id';
  if (value.mutedUntil !== undefined && !isTime(value.mutedUntil))
    return 'mutedUntil must be a time in ms';
  return undefined;
}

/** Judges one write to `members`: `previous` is the entry before it (document or same update). */
export function checkMemberWrite(
  ctx: RuleContext,
  identity: string,
  value: unknown,
  previous: unknown,
  genesis: boolean,
): RuleViolation | undefined {
  const refused = groupChangeViolation(ctx, 'members');
  if (refused) return refused;
  if (!isIdentityId(identity))
    return violation('SCHEMA_VIOLATION', 'members are keyed by identity id');
  if (value === undefined)
    return violation('SCHEMA_VIOLATION', 'member entries are never deleted; set status exited');
  const shape = memberShapeError(value);
  if (shape) return violation('SCHEMA_VIOLATION', shape);
  const next = value as Member;
  const timeOk =
    next.joinTime <= ctx.now + CLOCK_SKEW_MS && (next.exitTime ?? 0) <= ctx.now + CLOCK_SKEW_MS;
  if (!timeOk) return violation('SCHEMA_VIOLATION', 'member times cannot be in the future');
  if (genesis) return checkGenesisMember(ctx, identity, next);
  // Authority comes from the document before this update: a write cannot use powers that an
  // earlier write of the same update would grant. In a genesis batch it is the owner's (its
  // later steps are the creator's own changes).
  const role = writerRole(ctx, false);
  return checkMemberChange(ctx, role, identity, previous as Member | undefined, next);
}

function checkGenesisMember(
  ctx: RuleContext,
  identity: string,
  next: Member,
): RuleViolation | undefined {
  if (next.status !== MemberStatus.Active)
    return violation('SCHEMA_VIOLATION', 'a new group starts with active members');
  if (identity === ctx.author.id) {
    return next.role === MemberRole.Owner
      ? undefined
      : violation('ROLE_FORBIDDEN', 'the creator is the owner');
  }
  if (next.role === MemberRole.Owner)
    return violation('ROLE_FORBIDDEN', 'a group has one owner, its creator');
  if (next.invitedBy !== ctx.author.id)
    return violation('SCHEMA_VIOLATION', 'invitedBy must be the inviter');
  return undefined;
}

/**
 * Judges the change of one entry as the sum of its parts: joining (invite), leaving (exit or
 * removal), a role change. The parts are judged separately because an offline batch may carry
 * several intents on one member whose intermediate values the client's garbage collector already
 * dropped (setRole then remove arrive as one net change).
 */
function checkMemberChange(
  ctx: RuleContext,
  writerRole: MemberRole | undefined,
  identity: string,
  previous: Member | undefined,
  next: Member,
): RuleViolation | undefined {
  if (writerRole === undefined) return violation('NOT_MEMBER');
  const wasActive = previous?.status === MemberStatus.Active;
  const isActive = next.status === MemberStatus.Active;
  const self = identity === ctx.author.id;
  const joins = !wasActive && (isActive || previous === undefined);
  const leaves = next.status === MemberStatus.Exited && (wasActive || previous === undefined);

  if (joins) {
    if (self) return violation('INVITE_FORBIDDEN', 'nobody invites themselves');
    if (isMuted(ctx.doc, ctx.author.id, ctx.now))
      return violation('MUTED', 'a muted member does not invite');
    if (writerRole === MemberRole.Member && after(ctx, 'settings', 'allowInvite') === false) {
      return violation('INVITE_FORBIDDEN', 'only owner and admins may invite in this group');
    }
    if (next.role === MemberRole.Owner) return violation('ROLE_FORBIDDEN', 'nobody joins as owner');
    if (next.role === MemberRole.Admin && writerRole !== MemberRole.Owner) {
      return violation('ROLE_FORBIDDEN', 'only the owner makes admins');
    }
    if (next.invitedBy !== ctx.author.id)
      return violation('SCHEMA_VIOLATION', 'invitedBy must be the inviter');
    // An invite is no way around the mute rule below: a plain member would otherwise silence
    // the newcomer it invites for as long as it likes, or lift a mute by re-inviting a muted
    // member who left. Dropping a mute that has run out changes nothing, so anyone may.
    const sets = next.mutedUntil !== undefined && next.mutedUntil !== previous?.mutedUntil;
    const lifts = next.mutedUntil === undefined && (previous?.mutedUntil ?? 0) > ctx.now;
    if ((sets || lifts) && !outranks(writerRole, next.role)) {
      return violation('ROLE_FORBIDDEN', 'owner and admins mute members below them');
    }
  } else {
    if (!previous) return violation('SCHEMA_VIOLATION', 'a new member entry comes from an invite');
    // An invite of someone active, a removal of someone gone: the spec's own two errors.
    const joinedAgain =
      next.invitedBy !== previous.invitedBy || next.joinTime !== previous.joinTime;
    if (wasActive && isActive && joinedAgain)
      return violation('ALREADY_MEMBER', `${identity} is already a member`);
    if (!wasActive && !isActive && JSON.stringify(previous) !== JSON.stringify(next))
      return violation('MEMBER_NOT_FOUND', `${identity} is not a member (any more)`);
    const fixed: Array<keyof Member> = ['identityType', 'joinTime', 'invitedBy'];
    if (!fixed.every((f) => previous[f] === next[f])) {
      return violation('SCHEMA_VIOLATION', 'identityType, joinTime and invitedBy do not change');
    }
    const unchanged = JSON.stringify(previous) === JSON.stringify(next);
    if (!wasActive && !isActive && !unchanged) {
      return violation('SCHEMA_VIOLATION', 'an exited member entry does not change');
    }
    // A rewrite that changes nothing still needs authority over the entry: otherwise anyone could
    // grow the document with it and turn others' concurrent changes into CONCURRENT_CHANGE.
    if (unchanged && !self && !outranks(writerRole, previous.role)) {
      return violation('ROLE_FORBIDDEN', "only those above a member rewrite that member's entry");
    }
    const roleRefused = roleChangeRefusal(writerRole, previous.role, next.role);
    if (roleRefused) return roleRefused;
    if (previous.mutedUntil !== next.mutedUntil && (self || !outranks(writerRole, previous.role))) {
      return violation('ROLE_FORBIDDEN', 'owner and admins mute members below them');
    }
  }
  if (leaves) {
    if (self) {
      if (writerRole === MemberRole.Owner) {
        return violation(
          'EXIT_FORBIDDEN',
          'the owner transfers ownership or dissolves the group first',
        );
      }
      if (after(ctx, 'settings', 'allowMemberExit') === false) {
        return violation('EXIT_FORBIDDEN', 'members may not leave this group');
      }
    } else if (!outranks(writerRole, previous?.role ?? next.role)) {
      return violation('ROLE_FORBIDDEN', 'admins remove plain members only');
    }
  }
  return undefined; // ownership moves are checked on the result: exactly one owner
}

/** Judges the members an update leaves: within the limit, exactly one owner, moved only by the owner. */
export function checkMemberResult(
  ctx: RuleContext,
  writes: ReadonlyMap<string, unknown>,
  genesis: boolean,
): RuleViolation | undefined {
  const members = ctx.doc.getMap('members') as import('yjs').Map<Member>;
  const ids = new Set([...members.keys(), ...writes.keys()]);
  let active = 0;
  const owners: string[] = [];
  for (const id of ids) {
    const member = (writes.has(id) ? writes.get(id) : members.get(id)) as Member;
    if (member.status !== MemberStatus.Active) continue;
    active += 1;
    if (member.role === MemberRole.Owner) owners.push(id);
  }
  const max = after(ctx, 'meta', 'maxMemberCount');
  let before = 0;
  for (const m of members.values()) if (m.status === MemberStatus.Active) before += 1;
  if (typeof max === 'number' && active > max && active > before) {
    return violation('MEMBER_LIMIT', `at most ${max} members`);
  }
  if (owners.length !== 1)
    return violation('ROLE_FORBIDDEN', 'a group has exactly one active owner');
  const previousOwner = genesis
    ? ctx.author.id
    : [...members.entries()].find(
        ([, m]) => m.status === MemberStatus.Active && m.role === MemberRole.Owner,
      )?.[0];
  if (owners[0] !== previousOwner && previousOwner !== ctx.author.id) {
    return violation('ROLE_FORBIDDEN', 'only the owner transfers ownership');
  }
  return undefined;
}
