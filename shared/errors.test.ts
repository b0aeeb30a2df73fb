import { describe, expect, it } from 'vitest';
import { ConvosyncError, closeReason, codeFromCloseReason, ERRORS } from './errors.js';

describe('error table', () => {
  it('maps every code to an HTTP status and a close code of the matching class', () => {
    for (const [code, { status, close }] of Object.entries(ERRORS)) {
      expect(close, code).toBeGreaterThanOrEqual(4400);
      expect(close, code).toBeLessThan(4600);
      // 4xx HTTP -> 44xx close (permanent for y-websocket), 5xx -> 45xx (retry).
      expect(Math.floor(close / 100) - 40, code).toBe(Math.floor(status / 100));
      // A permanent close for anything the client caused; a retry only for server trouble.
      expect(status >= 500, code).toBe(close >= 4500);
    }
  });

  it('carries the code through a close reason, cut to the close frame limit', () => {
    const error = new ConvosyncError('NOT_MEMBER', 'x'.repeat(500));
    const reason = closeReason(error);
    expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(123);
    expect(codeFromCloseReason(reason)).toBe('NOT_MEMBER');
    expect(error.status).toBe(403);
    expect(error.closeCode).toBe(4403);
    expect(codeFromCloseReason('SOMETHING: else')).toBeUndefined();
  });

  it('does not split a multi-byte character when cutting', () => {
    const reason = closeReason(new ConvosyncError('INVALID_MESSAGE', '你'.repeat(100)));
    expect(reason).not.toMatch(/\uFFFD/);
    expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(123);
  });
});
