/**
 * @module The spec's enumerations with their exact values (seed sections 4 and 8).
 */

export const ConversationType = {
  Private: 'private',
  Group: 'group',
  System: 'system',
  Assistant: 'assistant',
} as const;
export type ConversationType = (typeof ConversationType)[keyof typeof ConversationType];

export const ConversationStatus = { Normal: 1, Dissolved: 2, Archived: 3 } as const;
export type ConversationStatus = (typeof ConversationStatus)[keyof typeof ConversationStatus];

export const MemberRole = { Member: 1, Admin: 2, Owner: 3 } as const;
export type MemberRole = (typeof MemberRole)[keyof typeof MemberRole];

export const MemberStatus = { Active: 1, Exited: 2 } as const;
export type MemberStatus = (typeof MemberStatus)[keyof typeof MemberStatus];

export const MessageFormat = { Text: 0, Image: 1, File: 2, Voice: 3, Video: 4, Card: 5 } as const;
export type MessageFormat = (typeof MessageFormat)[keyof typeof MessageFormat];

/** MsgRelatingBizTypeEnum additions for IM (seed section 2). */
export const RelatingBizType = {
  Conversation: 0,
  ImPrivateChat: 19,
  ImGroupChat: 20,
  ImSystemNotification: 21,
} as const;
export type RelatingBizType = (typeof RelatingBizType)[keyof typeof RelatingBizType];

/** Platform roles carried by a token's `role` claim (absent for end users). */
export const PlatformRole = { Admin: 'admin', Service: 'service' } as const;
export type PlatformRole = (typeof PlatformRole)[keyof typeof PlatformRole];

/** Default `max_member_count` of t_conversation. */
export const DEFAULT_MAX_MEMBER_COUNT = 500;

export function isOneOf<T extends Record<string, string | number>>(
  values: T,
  value: unknown,
): value is T[keyof T] {
  return Object.values(values).includes(value as string | number);
}
