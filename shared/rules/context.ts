/**
 * @module What every rule sees: the document before the change, who makes it, the server's
 * clock, and the other writes of the same update (so whole-update rules such as the member
 * limit and ownership transfer judge the result, not each write alone).
 */
import type * as Y from 'yjs';
import { ConvosyncError, type ErrorCode } from '../errors.js';
import type { ParsedDoc } from '../keys.js';
import type { RootName } from '../schema.js';
import type { Author } from './access.js';

export interface RuleContext {
  doc: Y.Doc;
  parsed: ParsedDoc;
  author: Author;
  /** Server time of receipt (the SDK uses its own clock, so the server may still disagree). */
  now: number;
  /** The highest stamped seq of the conversation (kept by the server, O(1)). */
  lastSeq: number;
  /** The final value this update writes to each (root, key); `undefined` means unset. */
  writes: ReadonlyMap<RootName, ReadonlyMap<string, unknown>>;
  /**
   * Whether a text has a sensitive word (the server's moderation list): names people choose
   * (nicknames, group names, announcements, file names) are refused with one. Absent: no list.
   */
  sensitive?: (text: string) => boolean;
}

/** SENSITIVE_CONTENT if `text` (the `what` of a write) has a listed word. */
export function sensitiveText(
  ctx: RuleContext,
  text: unknown,
  what: string,
): RuleViolation | undefined {
  if (typeof text !== 'string' || !ctx.sensitive?.(text)) return undefined;
  return violation('SENSITIVE_CONTENT', `${what} contains a word that is not allowed`);
}

/** A write the rules judge: the final value one update gives one key of one root. */
export interface Write {
  root: RootName;
  key: string;
  /** `undefined` when the key is unset (a ContentDeleted write or a pure delete). */
  value: unknown;
}

export class RuleViolation extends ConvosyncError {}

export function violation(code: ErrorCode, message?: string): RuleViolation {
  return new RuleViolation(code, message);
}

/** The value of (root, key) after this update: its write if it has one, else the document's. */
export function after(ctx: RuleContext, root: RootName, key: string): unknown {
  const pending = ctx.writes.get(root);
  if (pending?.has(key)) return pending.get(key);
  return ctx.doc.getMap(root).get(key);
}

/** Plain-object check: rules accept only JSON objects with exactly the listed fields. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function onlyFields(
  value: Record<string, unknown>,
  allowed: readonly string[],
): string | undefined {
  for (const field of Object.keys(value)) if (!allowed.includes(field)) return field;
  return undefined;
}

/** A time in ms: a non-negative integer that a BIGINT column (and a JS number) holds exactly. */
export function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

export function isShortString(value: unknown, max: number, min = 0): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

/** Groups a list of writes by root, the last write to a key winning: `RuleContext.writes`. */
export function byRoot(writes: readonly Write[]): Map<RootName, Map<string, unknown>> {
  const grouped = new Map<RootName, Map<string, unknown>>();
  for (const w of writes) {
    const root = grouped.get(w.root) ?? new Map<string, unknown>();
    root.set(w.key, w.value);
    grouped.set(w.root, root);
  }
  return grouped;
}
