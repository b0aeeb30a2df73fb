/**
 * @module Branded identifiers and their validation.
 *
 * An identity id is the spec's `identityId` (VARCHAR(50)). It is restricted to
 * `[A-Za-z0-9.-]`, starting with a letter or digit, because it is embedded in conversation keys
 * (`private_{a}_{b}`) and in URL paths (`/sync/private_a_b`): with `_` excluded the key parses
 * unambiguously, and with no `/`, `?`, `#` or `%` it needs no escaping anywhere.
 */
import { ConvosyncError } from './errors.js';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type IdentityId = Brand<string, 'IdentityId'>;
/** Client-made id of a message or intent: 32 lowercase hex characters (a dash-less UUID v4). */
export type MessageKey = Brand<string, 'MessageKey'>;
/** Server-made BIGINT message id, carried as a decimal string (it exceeds 2^53). */
export type MessageId = Brand<string, 'MessageId'>;
/** A stable id of one device's local store, used to key per-device state (read positions). */
export type DeviceId = Brand<string, 'DeviceId'>;

export const IDENTITY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,49}$/;
const MESSAGE_KEY_PATTERN = /^[0-9a-f]{32}$/;
const DEVICE_ID_PATTERN = /^[A-Za-z0-9-]{8,64}$/;
const MESSAGE_ID_PATTERN = /^[1-9][0-9]{0,18}$/;

export function isIdentityId(value: unknown): value is IdentityId {
  return typeof value === 'string' && IDENTITY_ID_PATTERN.test(value);
}

export function asIdentityId(value: string): IdentityId {
  if (!isIdentityId(value)) {
    throw new ConvosyncError(
      'INVALID_IDENTITY',
      `identity id must match ${IDENTITY_ID_PATTERN} (letters, digits, '.' and '-', at most 50)`,
    );
  }
  return value;
}

export function isMessageKey(value: unknown): value is MessageKey {
  return typeof value === 'string' && MESSAGE_KEY_PATTERN.test(value);
}

/** The largest BIGINT (Postgres `bigint`, MySQL `BIGINT`): 2^63 - 1. */
export const MAX_BIGINT = 9_223_372_036_854_775_807n;

/**
 * A positive BIGINT in decimal (a message or conversation id). Nineteen digits are not enough
 * of a check: 9999999999999999999 overflows, and the database would answer with an error.
 */
export function isBigintId(value: unknown): value is string {
  return typeof value === 'string' && MESSAGE_ID_PATTERN.test(value) && BigInt(value) <= MAX_BIGINT;
}

export function isMessageId(value: unknown): value is MessageId {
  return isBigintId(value);
}

export function isDeviceId(value: unknown): value is DeviceId {
  return typeof value === 'string' && DEVICE_ID_PATTERN.test(value);
}

/** 32 hex characters of a random UUID v4; works in browsers and in Node (Web Crypto). */
export function newMessageKey(): MessageKey {
  return globalThis.crypto.randomUUID().replaceAll('-', '') as MessageKey;
}

export function newDeviceId(): DeviceId {
  return globalThis.crypto.randomUUID() as DeviceId;
}
