/**
 * @module Who may change a member's role (seed §4, ConversationMemberDomainService): "群主可以设置
 * 任何角色，管理员只能设置普通成员", and in updateMemberRole "只有群主可以设置管理员，管理员和
 * 群主可以设置普通成员".
 *
 * The reading chosen (README, "Role changes"): "设置X" is "make someone an X".
 * - The owner makes anyone admin or plain member (and owner only by a transfer, which
 *   checkMemberResult judges: exactly one owner, moved by the owner).
 * - An admin makes someone a plain member, and nothing else: it steps down itself or sets another
 *   admin back to plain member. It never appoints an admin ("只有群主可以设置管理员") and never
 *   touches the owner.
 * - A plain member changes no role.
 * The other reading, "an admin may change plain members only", leaves an admin nothing to do
 * (the only role it could give a plain member is the one it has), so it cannot be what the
 * sentence means.
 */
import { MemberRole } from '../enums.js';
import { type RuleViolation, violation } from './context.js';

/** Why `writer` may not change a role from `from` to `to`, or undefined if it may. */
export function roleChangeRefusal(
  writer: MemberRole | undefined,
  from: MemberRole,
  to: MemberRole,
): RuleViolation | undefined {
  if (from === to) return undefined;
  if (writer === MemberRole.Owner) return undefined; // ownership moves: checkMemberResult
  if (writer === MemberRole.Admin) {
    if (to === MemberRole.Member && from === MemberRole.Admin) return undefined;
    return violation(
      'ROLE_FORBIDDEN',
      to === MemberRole.Member
        ? 'an admin never changes the owner'
        : 'only the owner makes admins (an admin sets admins back to plain members)',
    );
  }
  return violation('ROLE_FORBIDDEN', 'plain members change no roles');
}
