/**
 * What the snapshot tables can hold (issue 12 item 1), including what only the REST path can
 * bring: a lone surrogate survives JSON.parse but not the Yjs wire (lib0 encodes it as U+FFFD).
 */
import { describe, expect, it } from 'vitest';
import { INT_MAX, isInt32, textProblem, unstorableText } from './storable.js';

describe('storable values', () => {
  it('knows the INT range', () => {
    expect([INT_MAX, -INT_MAX - 1, 0].every(isInt32)).toBe(true);
    expect([INT_MAX + 1, -INT_MAX - 2, 1.5, Number.NaN, '1'].some(isInt32)).toBe(false);
  });

  it('refuses NUL and lone surrogates, keeps pairs and everything else', () => {
    expect(textProblem('a\u0000b')).toMatch(/NUL/);
    expect(textProblem('\ud800')).toMatch(/lone surrogate/);
    expect(textProblem('x\udc00')).toMatch(/lone surrogate/);
    expect(textProblem('😀 你好 \u200b')).toBeUndefined();
  });

  it('looks into nested values and object keys', () => {
    expect(unstorableText({ a: [{ b: 'ok' }, { c: 'no\u0000' }] })).toMatch(/NUL/);
    expect(unstorableText({ 'k\u0000': 1 })).toMatch(/NUL/);
    expect(unstorableText({ a: ['fine', 1, true, null] })).toBeUndefined();
  });
});
