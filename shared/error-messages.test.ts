import { describe, expect, it } from 'vitest';
import { ERROR_MESSAGES, errorMessage, LANGUAGES } from './error-messages.js';
import { ERRORS } from './errors.js';

describe('error messages', () => {
  it('gives every error code a sentence in each language, without the code itself', () => {
    expect(Object.keys(ERROR_MESSAGES).sort()).toEqual(Object.keys(ERRORS).sort());
    for (const code of Object.keys(ERRORS)) {
      for (const language of LANGUAGES) {
        const text = errorMessage(code, language);
        expect(text.trim().length, `${code} ${language}`).toBeGreaterThan(3);
        expect(text, `${code} ${language}`).not.toContain(code);
      }
    }
    expect(errorMessage('NO_SUCH_CODE', 'en')).toBe(ERROR_MESSAGES.INTERNAL.en);
  });
});
