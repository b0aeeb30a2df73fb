/**
 * @module What a conversation's status allows (ConversationStatusFacade.canOperate, seed §7):
 * a normal conversation allows everything its rules allow; a dissolved or archived one is
 * read-only (reading and moving one's read position). postRefusal and groupChangeViolation
 * (./access.ts) refuse the writes this table says no to, with CONVERSATION_DISSOLVED or
 * CONVERSATION_ARCHIVED.
 */
import { ConversationStatus } from '../enums.js';

export const OPERATIONS = [
  'read',
  'send',
  'recall',
  'invite',
  'remove',
  'exit',
  'setRole',
  'transfer',
  'updateInfo',
  'updateSettings',
  'dissolve',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export function canOperate(status: ConversationStatus | undefined, operation: Operation): boolean {
  if (status === undefined || status === ConversationStatus.Normal) return true;
  return operation === 'read';
}
