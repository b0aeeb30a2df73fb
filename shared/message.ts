/**
 * @module Composing a message value from what the app gives (a draft), validated by the same
 * shape and format rules the server runs (rules/message.ts).
 */
import { MessageFormat } from './enums.js';
import { ConvosyncError, type ErrorCode } from './errors.js';
import type { IdentityId, MessageKey } from './ids.js';
import type { ConversationKey } from './keys.js';
import { messageShapeError } from './rules/message.js';
import type { CardRef, FileRef, Message } from './schema.js';

export interface Draft {
  content: string;
  format?: MessageFormat;
  replyTo?: MessageKey;
  file?: FileRef;
  duration?: number;
  card?: CardRef;
  forwardedFrom?: Message['forwardedFrom'];
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
  for (const field of ['replyTo', 'file', 'duration', 'card', 'forwardedFrom'] as const) {
    if (draft[field] !== undefined) Object.assign(message, { [field]: draft[field] });
  }
  const problem = messageShapeError(message);
  if (problem) throw new ConvosyncError('INVALID_MESSAGE', problem);
  return message;
}

/**
 * The draft that forwards `original` (from conversation `from`): the same content, file, card
 * and format, with `forwardedFrom` pointing at the source so readers can trace it. Recalled and
 * system messages are not forwarded.
 */
export function forwardDraft(original: Message, from: ConversationKey): Draft {
  if (original.recalled || original.system)
    throw new ConvosyncError('FORWARD_NOT_FOUND', `message ${original.key} cannot be forwarded`);
  const draft: Draft = {
    content: original.content,
    format: original.format,
    forwardedFrom: { conversation: from, key: original.key },
  };
  if (original.file) draft.file = original.file;
  if (original.duration !== undefined) draft.duration = original.duration;
  if (original.card) draft.card = original.card;
  return draft;
}

/**
 * Why `message`, which names `source` in `forwardedFrom`, is not a faithful forward of it, or
 * undefined: the source must exist and be forwardable (FORWARD_NOT_FOUND), and the forward must
 * carry exactly its content, format, file, duration and card (INVALID_MESSAGE): a "forward" of a
 * real message with invented content would pass a forgery off as someone else's words.
 */
export function forwardRefusal(
  message: Message,
  source: Message | undefined,
): { code: ErrorCode; message: string } | undefined {
  const from = message.forwardedFrom;
  if (!from) return undefined;
  if (!source || source.recalled || source.system)
    return {
      code: 'FORWARD_NOT_FOUND',
      message: `cannot forward ${from.conversation}/${from.key}`,
    };
  const expected = forwardDraft(source, from.conversation);
  const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);
  for (const field of ['content', 'format', 'file', 'duration', 'card'] as const) {
    if (!same(message[field], expected[field]))
      return { code: 'INVALID_MESSAGE', message: `a forward carries its source's ${field}` };
  }
  return undefined;
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
function canonical(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
