/**
 * @module Rules for the `messages` root: a new message is well formed, from its sender, per
 * format limits; an existing one only changes by recall, into its tombstone.
 *
 * Format limits (the spec asks for per-format size, MIME type and duration limits without
 * numbers; these are ours, in line with mainstream IM apps):
 *   text   content 1-5000 characters
 *   image  file <= 20 MB, image/jpeg|png|gif|webp
 *   file   file <= 100 MB, any MIME type, a file name
 *   voice  file <= 10 MB, audio/*, duration 1-300 s
 *   video  file <= 200 MB, video/*, duration 1-1800 s
 *   card   a business object (bizType, bizId <= 64, title <= 100)
 */
import { MessageFormat, PlatformRole } from '../enums.js';
import { FILE_URL_PREFIX, isServerFileUrl } from '../file-url.js';
import { isIdentityId, isMessageKey } from '../ids.js';
import { tryParseKey } from '../keys.js';
import type { Message, Stamp } from '../schema.js';
import { activeRole, manages, outranks, postRefusal } from './access.js';
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
import { isGroupGenesis } from './info.js';
import { INT_MAX, isInt32, unstorableText } from './storable.js';

export const MAX_TEXT_LENGTH = 5000;
export const RECALL_WINDOW_MS = 2 * 60 * 1000;
const MB = 1024 * 1024;

interface FormatRule {
  file: boolean;
  maxSize: number;
  mime: RegExp;
  duration?: [number, number];
  card?: boolean;
  needsName?: boolean;
}

export const FORMAT_RULES: Record<MessageFormat, FormatRule> = {
  [MessageFormat.Text]: { file: false, maxSize: 0, mime: /^$/ },
  [MessageFormat.Image]: { file: true, maxSize: 20 * MB, mime: /^image\/(jpeg|png|gif|webp)$/ },
  [MessageFormat.File]: {
    file: true,
    maxSize: 100 * MB,
    mime: /^[a-z]+\/[a-z0-9.+-]+$/i,
    needsName: true,
  },
  [MessageFormat.Voice]: {
    file: true,
    maxSize: 10 * MB,
    mime: /^audio\/[a-z0-9.+-]+$/i,
    duration: [1, 300],
  },
  [MessageFormat.Video]: {
    file: true,
    maxSize: 200 * MB,
    mime: /^video\/[a-z0-9.+-]+$/i,
    duration: [1, 1800],
  },
  [MessageFormat.Card]: { file: false, maxSize: 0, mime: /^$/, card: true },
};

const MESSAGE_FIELDS = [
  'key',
  'sender',
  'senderType',
  'format',
  'content',
  'sentAt',
  'replyTo',
  'file',
  'duration',
  'card',
  'forwardedFrom',
  'recalled',
  'system',
];

/** Why `value` is not a well-formed message value, or undefined. Shape and format limits only. */
export function messageShapeError(value: unknown): string | undefined {
  return shapeError(value, true);
}

/** `checkText`: false when every string of `value` was already found storable (`judge`). */
function shapeError(value: unknown, checkText: boolean): string | undefined {
  if (!isRecord(value)) return 'a message is a plain object';
  const extra = onlyFields(value, MESSAGE_FIELDS);
  if (extra) return `unknown message field "${extra.slice(0, 40)}"`;
  if (checkText) {
    const text = unstorableText(value);
    if (text) return text;
  }
  const m = value;
  if (!isMessageKey(m.key)) return 'key must be 32 hex characters';
  if (!isIdentityId(m.sender)) return 'sender must be an identity id';
  if (!isInt32(m.senderType)) return 'senderType must be a 32-bit integer';
  if (!isTime(m.sentAt)) return 'sentAt must be a time in ms';
  // A number and one of the table's own keys: "5" found the card rule and then passed every
  // strict check (`=== MessageFormat.Card`: a member's forged card), "constructor" found an
  // inherited function (a row the INT column refused, which stopped the projection for good).
  if (typeof m.format !== 'number' || !Object.hasOwn(FORMAT_RULES, m.format))
    return 'format must be 0..5';
  const rule = FORMAT_RULES[m.format as MessageFormat];
  if (!isShortString(m.content, MAX_TEXT_LENGTH))
    return `content must be a string of at most ${MAX_TEXT_LENGTH}`;
  if (m.replyTo !== undefined && !isMessageKey(m.replyTo)) return 'replyTo must be a message key';
  if (m.forwardedFrom !== undefined) {
    const f = m.forwardedFrom;
    if (
      !isRecord(f) ||
      onlyFields(f, ['conversation', 'key']) ||
      typeof f.conversation !== 'string' ||
      !tryParseKey(f.conversation) ||
      !isMessageKey(f.key)
    ) {
      return 'forwardedFrom must be { conversation, key }';
    }
  }
  if (m.recalled !== undefined) {
    if (!isRecord(m.recalled) || onlyFields(m.recalled, ['by']) || !isIdentityId(m.recalled.by))
      return 'recalled must be { by }';
    // A tombstone keeps the metadata and nothing of the content.
    if (
      m.content !== '' ||
      m.file !== undefined ||
      m.card !== undefined ||
      m.duration !== undefined
    ) {
      return 'a recalled message keeps no content';
    }
    return undefined;
  }
  if (m.format === MessageFormat.Text && m.content === '') return 'a text message needs content';
  if (rule.file) {
    const f = m.file;
    if (!isRecord(f) || onlyFields(f, ['url', 'size', 'mime', 'name']))
      return 'this format needs file { url, size, mime, name? }';
    if (!isShortString(f.url, 500, 1) || !isServerFileUrl(f.url))
      return `file.url must be a file uploaded to this server (${FILE_URL_PREFIX}{conversation}/{sha256})`;
    if (!Number.isInteger(f.size) || (f.size as number) <= 0 || (f.size as number) > rule.maxSize)
      return `file.size must be 1..${rule.maxSize} bytes`;
    if (typeof f.mime !== 'string' || !rule.mime.test(f.mime))
      return `file.mime ${String(f.mime).slice(0, 60)} is not allowed for this format`;
    if (f.name !== undefined && !isShortString(f.name, 255, 1))
      return 'file.name must be 1..255 characters';
    if (rule.needsName && f.name === undefined) return 'a file message needs file.name';
  } else if (m.file !== undefined) {
    return 'this format has no file';
  }
  if (rule.duration) {
    const [min, max] = rule.duration;
    if (
      !Number.isInteger(m.duration) ||
      (m.duration as number) < min ||
      (m.duration as number) > max
    )
      return `duration must be ${min}..${max} seconds`;
  } else if (m.duration !== undefined) {
    return 'this format has no duration';
  }
  if (rule.card) {
    const c = m.card;
    if (!isRecord(c) || onlyFields(c, ['bizType', 'bizId', 'title']))
      return 'a card needs card { bizType, bizId, title? }';
    if (!isInt32(c.bizType) || c.bizType < 0)
      return `card.bizType must be an integer in 0..${INT_MAX}`;
    if (!isShortString(c.bizId, 64, 1)) return 'card.bizId must be 1..64 characters';
    if (c.title !== undefined && !isShortString(c.title, 100))
      return 'card.title must be at most 100 characters';
  } else if (m.card !== undefined) {
    return 'this format has no card';
  }
  return undefined;
}

/** The tombstone that replaces `message` when `by` recalls it: metadata kept, content dropped. */
export function tombstone(message: Message, by: Message['sender']): Message {
  const t: Message = {
    key: message.key,
    sender: message.sender,
    senderType: message.senderType,
    format: message.format,
    content: '',
    sentAt: message.sentAt,
    recalled: { by },
  };
  if (message.replyTo !== undefined) t.replyTo = message.replyTo;
  if (message.forwardedFrom !== undefined) t.forwardedFrom = message.forwardedFrom;
  return t;
}

/** Judges one write to `messages`. */
export function checkMessageWrite(
  ctx: RuleContext,
  key: string,
  value: unknown,
  before: unknown,
): RuleViolation | undefined {
  const previous = before as Message | undefined;
  if (value === undefined) return violation('IMMUTABLE', 'messages are never deleted; recall them');
  // Only the rules' `judge` calls this, after it found every string of the value storable.
  const shape = shapeError(value, false);
  if (shape) return violation('INVALID_MESSAGE', shape);
  const next = value as Message;
  if (next.key !== key)
    return violation('SCHEMA_VIOLATION', 'a message is stored under its own key');
  if (previous === undefined) return checkNewMessage(ctx, next);
  if (ctx.doc.getMap('messages').get(key) === undefined) {
    return violation('NOT_ACCEPTED_YET', 'a message is recalled once the server accepted it');
  }
  return checkRecall(ctx, previous, next);
}

function checkNewMessage(ctx: RuleContext, message: Message): RuleViolation | undefined {
  if (message.recalled) return violation('INVALID_MESSAGE', 'a new message cannot be recalled');
  if (message.system) return violation('SERVER_ONLY', 'system messages are written by the server');
  if (message.sender !== ctx.author.id || message.senderType !== ctx.author.type) {
    return violation('NOT_SENDER', `sender must be ${ctx.author.id} (type ${ctx.author.type})`);
  }
  // A card ("Refund approved", an order's status) speaks for a business system: only backend
  // services send one, as Slack lets only apps post interactive messages. A forward copies a real
  // card, which the server checks against its source.
  if (
    message.format === MessageFormat.Card &&
    ctx.author.role !== PlatformRole.Service &&
    message.forwardedFrom === undefined
  ) {
    return violation('POST_FORBIDDEN', 'card messages are sent by backend services');
  }
  const refusal = postRefusal(ctx.doc, ctx.parsed, ctx.author, ctx.now);
  // In the genesis update of a group the creator is not a member of `doc` yet.
  if (refusal && !(refusal === 'NOT_MEMBER' && isOwnGenesis(ctx))) return violation(refusal);
  const fileName = sensitiveText(ctx, message.file?.name, 'the file name');
  if (fileName) return fileName;
  if (message.replyTo !== undefined && after(ctx, 'messages', message.replyTo) === undefined) {
    return violation('REPLY_NOT_FOUND', `no message ${message.replyTo} to reply to`);
  }
  return undefined;
}

function checkRecall(
  ctx: RuleContext,
  previous: Message,
  next: Message,
): RuleViolation | undefined {
  if (previous.recalled) return violation('ALREADY_RECALLED');
  if (previous.system) return violation('RECALL_FORBIDDEN', 'system messages stay in the log');
  const expected = tombstone(previous, ctx.author.id);
  if (JSON.stringify(next) !== JSON.stringify(expected)) {
    return violation('IMMUTABLE', 'a message only changes into its tombstone (recall)');
  }
  const stamp = ctx.doc.getMap('stamps').get(previous.key) as Stamp | undefined;
  if (!stamp) return violation('NOT_ACCEPTED_YET');
  // A recall writes the conversation's content: refused where posting is (an archived or a
  // dissolved conversation is read-only; a removed or exited member writes no more, over REST
  // either), a mute aside: a muted member may still take back what it said.
  const refusal = postRefusal(ctx.doc, ctx.parsed, ctx.author, ctx.now);
  if (refusal && refusal !== 'MUTED') return violation(refusal);
  if (previous.sender === ctx.author.id) {
    const age = ctx.now - stamp.at;
    if (age > RECALL_WINDOW_MS)
      return violation('RECALL_WINDOW_PASSED', `accepted ${Math.round(age / 1000)} s ago`);
    return undefined;
  }
  // Group owner/admin may recall a lower-ranked member's message at any time.
  if (ctx.parsed.type === 'group') {
    const writer = activeRole(ctx.doc, ctx.author.id);
    const sender = activeRole(ctx.doc, previous.sender);
    if (manages(writer) && outranks(writer, sender)) return undefined;
  }
  return violation(
    'RECALL_FORBIDDEN',
    'only the sender, or a group owner/admin above the sender, may recall',
  );
}

/**
 * Whether this message belongs to the genesis batch of a group: its author is the creator, an
 * active owner by the genesis (`checkGenesisComplete` refuses the whole batch otherwise). It is
 * judged by the genesis, not by the batch's end state: "create offline, hand over, then speak"
 * leaves the creator an admin, and "create, exit" is refused on its own (EXIT_FORBIDDEN until
 * handed over). The SDK, which writes the intents in order, refuses a post after an exit.
 */
function isOwnGenesis(ctx: RuleContext): boolean {
  return isGroupGenesis(ctx);
}
