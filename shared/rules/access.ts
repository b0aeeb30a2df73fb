/**
 * @module Who may read and who may post in a conversation. Run by the server at join and on every
 * update, and by the SDK before it writes.
 */
import type * as Y from 'yjs';
import { getMember, hasGenesis } from '../conversation.js';
import {
  ConversationStatus,
  ConversationType,
  MemberRole,
  MemberStatus,
  PlatformRole,
} from '../enums.js';
import type { ErrorCode } from '../errors.js';
import type { IdentityId } from '../ids.js';
import type { ParsedDoc } from '../keys.js';
import { type RuleContext, type RuleViolation, violation } from './context.js';

/** The authenticated author of a change: a connection, a REST caller or the SDK's user. */
export interface Author {
  id: IdentityId;
  type: number;
  role?: PlatformRole;
}

/** Whether `author` may open and read the conversation. */
export function canRead(doc: Y.Doc, parsed: ParsedDoc, author: Author): boolean {
  switch (parsed.type) {
    case 'inbox':
      return author.id === parsed.owner;
    case ConversationType.System:
      return author.id === parsed.owner || author.role === PlatformRole.Service;
    case ConversationType.Assistant:
      return author.id === parsed.owner || author.role === PlatformRole.Admin;
    case ConversationType.Group:
      // A group that does not exist yet may be opened: its creator sends the genesis.
      return !hasGenesis(doc) || activeRole(doc, author.id) !== undefined;
    case ConversationType.Private:
      return activeRole(doc, author.id) !== undefined;
  }
}

/**
 * Why `author` may not post a message at server time `now`, or undefined if it may. Group
 * members are muted one by one (until a time) or all at once (`muteAll`: only owner and admins
 * post).
 */
export function postRefusal(
  doc: Y.Doc,
  parsed: ParsedDoc,
  author: Author,
  now: number = Date.now(),
): ErrorCode | undefined {
  if (parsed.type === 'inbox') return 'POST_FORBIDDEN';
  const status = doc.getMap('meta').get('status');
  if (status === ConversationStatus.Dissolved) return 'CONVERSATION_DISSOLVED';
  if (status === ConversationStatus.Archived) return 'CONVERSATION_ARCHIVED';
  if (parsed.type === ConversationType.Group && isMuted(doc, author.id, now)) return 'MUTED';
  switch (parsed.type) {
    case ConversationType.System:
      // Notices come from backend jobs; the identity only reads (and moves its read position).
      return author.role === PlatformRole.Service ? undefined : 'POST_FORBIDDEN';
    case ConversationType.Assistant:
      return author.id === parsed.owner || author.role === PlatformRole.Admin
        ? undefined
        : 'POST_FORBIDDEN';
    case ConversationType.Group:
    case ConversationType.Private:
      return activeRole(doc, author.id) !== undefined ? undefined : 'NOT_MEMBER';
  }
}

/**
 * Whether an active group member is muted at `now`: one by one until a time, or all at once
 * (`muteAll`: only owner and admins speak). A muted member neither posts nor invites.
 */
export function isMuted(doc: Y.Doc, identity: IdentityId, now: number): boolean {
  const member = getMember(doc, identity);
  if (member?.status !== MemberStatus.Active) return false;
  if ((member.mutedUntil ?? 0) > now) return true;
  return !manages(member.role) && doc.getMap('settings').get('muteAll') === true;
}

/** The role of an active member, or undefined for exited members and strangers. */
export function activeRole(doc: Y.Doc, identity: IdentityId): MemberRole | undefined {
  const member = getMember(doc, identity);
  return member?.status === MemberStatus.Active ? member.role : undefined;
}

/** Owner and admins manage a group; admins only manage plain members. */
export function outranks(writer: MemberRole | undefined, target: MemberRole | undefined): boolean {
  if (writer === undefined) return false;
  if (writer === MemberRole.Owner) return target !== MemberRole.Owner;
  if (writer === MemberRole.Admin) return target === undefined || target === MemberRole.Member;
  return false;
}

/**
 * Why a client may not change a group's `part` (meta, settings, members) at all: outside groups
 * the server describes conversations, and a dissolved group no longer changes.
 */
export function groupChangeViolation(ctx: RuleContext, part: string): RuleViolation | undefined {
  if (ctx.parsed.type !== ConversationType.Group)
    return violation('SERVER_ONLY', `only groups have client-managed ${part}`);
  const status = ctx.doc.getMap('meta').get('status');
  if (status === ConversationStatus.Dissolved) return violation('CONVERSATION_DISSOLVED');
  // Archived by a platform admin or a service (REST PUT /conversations/{id}/status): read-only.
  if (status === ConversationStatus.Archived) return violation('CONVERSATION_ARCHIVED');
  return undefined;
}

/**
 * The writer's role for an update: owner of the group its genesis creates (for the genesis
 * writes and every later write of the same batch), else its role before the update.
 */
export function writerRole(ctx: RuleContext, genesis: boolean): MemberRole | undefined {
  const creates =
    ctx.parsed.type === ConversationType.Group &&
    !ctx.doc.getMap('meta').has('key') &&
    ctx.writes.get('meta')?.has('key') === true;
  return genesis || creates ? MemberRole.Owner : activeRole(ctx.doc, ctx.author.id);
}

/** Owner and admins manage a group's info and settings. */
export function manages(role: MemberRole | undefined): boolean {
  return role === MemberRole.Owner || role === MemberRole.Admin;
}
