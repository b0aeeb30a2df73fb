/**
 * @module Moderation settings from the environment (config.ts calls this once): the word list,
 * what to do with a match, and the rate limits.
 */
import { parseRate, type RateLimits } from './rate-limit.js';

export type ModerationMode = 'replace' | 'reject';

export interface ModerationConfig {
  /** `SENSITIVE_WORDS`, comma-separated. */
  words: string[];
  /** `SENSITIVE_WORDS_FILE`: one word per line (blank lines and lines starting with # skipped). */
  wordsFile?: string;
  /** `MODERATION_MODE`: star the matched characters (default) or refuse the message. */
  mode: ModerationMode;
  /**
   * `RATE_LIMIT_IDENTITY`, `RATE_LIMIT_CONVERSATION`: new messages per window, or `off`;
   * `RATE_LIMIT_WRITES`: every other write per identity (each key written counts one).
   */
  rates: RateLimits;
}

/** Far above what a person types, low enough to stop a runaway script or a flood. */
export const DEFAULT_IDENTITY_RATE = '100/10s';
export const DEFAULT_CONVERSATION_RATE = '1000/10s';
/** Read marks, receipts, profiles, membership: a person moves a few per message at most. */
export const DEFAULT_WRITES_RATE = '300/10s';

export function parseModerationConfig(env: Record<string, string | undefined>): ModerationConfig {
  const mode = env.MODERATION_MODE || 'replace';
  if (mode !== 'replace' && mode !== 'reject')
    throw new Error(`MODERATION_MODE must be replace or reject, not ${JSON.stringify(mode)}`);
  const identity = parseRate(
    env.RATE_LIMIT_IDENTITY || DEFAULT_IDENTITY_RATE,
    'RATE_LIMIT_IDENTITY',
  );
  const conversation = parseRate(
    env.RATE_LIMIT_CONVERSATION || DEFAULT_CONVERSATION_RATE,
    'RATE_LIMIT_CONVERSATION',
  );
  const writes = parseRate(env.RATE_LIMIT_WRITES || DEFAULT_WRITES_RATE, 'RATE_LIMIT_WRITES');
  return {
    words: splitWords(env.SENSITIVE_WORDS ?? '', ','),
    ...(env.SENSITIVE_WORDS_FILE ? { wordsFile: env.SENSITIVE_WORDS_FILE } : {}),
    mode,
    rates: {
      ...(identity ? { identity } : {}),
      ...(conversation ? { conversation } : {}),
      ...(writes ? { writes } : {}),
    },
  };
}

/** Entries of a word list: trimmed, without empty ones. */
export function splitWords(text: string, separator: string | RegExp): string[] {
  return text
    .split(separator)
    .map((w) => w.trim())
    .filter((w) => w !== '');
}
