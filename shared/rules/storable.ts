/**
 * @module What the snapshot tables can hold (issue 12 item 1): a value the rules accept must also
 * project, or one message stops its document's projection. Postgres refuses U+0000 in TEXT,
 * VARCHAR and JSONB (22021, 22P05), refuses a lone surrogate escape in JSONB, and refuses
 * integers outside INT and BIGINT (22003). String lengths are checked field by field by the
 * shape rules against their columns (001_snapshot_tables.sql); a JS length counts UTF-16 units,
 * never fewer than the characters Postgres counts, so those checks are on the safe side.
 */

/** Postgres INT (identity types, card business types, durations). */
export const INT_MAX = 2_147_483_647;
export const INT_MIN = -2_147_483_648;

export function isInt32(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= INT_MIN && (value as number) <= INT_MAX;
}

// A surrogate that is not half of a pair (in `u` mode a pair is one code point).
const LONE_SURROGATE = /\p{Cs}/u;

/** Why a string cannot be stored as text, or undefined. */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'text cannot contain U+0000 (NUL)';
  if (LONE_SURROGATE.test(value)) return 'text must be well-formed Unicode (no lone surrogate)';
  return undefined;
}

/** The first string anywhere in a JSON value (object keys included) that cannot be stored. */
export function unstorableText(value: unknown, depth = 0): string | undefined {
  if (depth > 8) return undefined; // deeper values are refused as malformed elsewhere
  if (typeof value === 'string') return textProblem(value);
  if (Array.isArray(value)) {
    for (const v of value) {
      const p = unstorableText(v, depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const p = textProblem(k) ?? unstorableText(v, depth + 1);
      if (p) return p;
    }
  }
  return undefined;
}
