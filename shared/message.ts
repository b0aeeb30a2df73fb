/**
 * @module Shape validation of a message value, run by the SDK before it writes and by the server
 * before it accepts. Per-format business limits (file sizes, MIME types) build on this.
 */
import { isOneOf, MessageFormat } from './enums.js';
import { ConvosyncError } from './errors.js';
import { type IdentityId, isIdentityId, isMessageKey, type MessageKey } from './ids.js';
import type { Message } from './schema.js';

/** Longest text body, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 5000;

export interface Draft {
  content: string;
  format?: MessageFormat;
  replyTo?: MessageKey;
}

/** Builds the value a sender writes for a new message, or throws INVALID_MESSAGE. */
export function composeMessage(
  draft: Draft,
  author: { identity: IdentityId; identityType: number },
  key: MessageKey,
  now: number,
): Message {
  const message: Message = {
    key,
    sender: author.identity,
    senderType: author.identityType,
    format: draft.format ?? MessageFormat.Text,
    content: draft.content,
    sentAt: now,
  };
  if (draft.replyTo !== undefined) message.replyTo = draft.replyTo;
  assertMessage(message);
  return message;
}

/** Throws INVALID_MESSAGE unless `value` is a well-formed message value. */
export function assertMessage(value: unknown): asserts value is Message {
  const fail = (why: string): never => {
    throw new ConvosyncError('INVALID_MESSAGE', why);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('not an object');
  const m = value as Record<string, unknown>;
  if (!isMessageKey(m.key)) fail('key must be 32 hex characters');
  if (!isIdentityId(m.sender)) fail('sender must be an identity id');
  if (!Number.isInteger(m.senderType)) fail('senderType must be an integer');
  if (!isOneOf(MessageFormat, m.format)) fail('format must be 0..5');
  if (typeof m.content !== 'string') fail('content must be a string');
  if ((m.content as string).length > MAX_TEXT_LENGTH)
    fail(`content longer than ${MAX_TEXT_LENGTH}`);
  if (m.format === MessageFormat.Text && m.recalled === undefined && m.content === '') {
    fail('a text message needs content');
  }
  if (typeof m.sentAt !== 'number' || !Number.isFinite(m.sentAt)) fail('sentAt must be a number');
  if (m.replyTo !== undefined && !isMessageKey(m.replyTo)) fail('replyTo must be a message key');
}
