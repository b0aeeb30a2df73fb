import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { parseModerationConfig } from './config.js';

describe('moderation settings', () => {
  it('defaults to replace mode, no words, and limits a person never reaches', () => {
    expect(parseModerationConfig({})).toEqual({
      words: [],
      mode: 'replace',
      rates: {
        identity: { count: 100, windowMs: 10_000 },
        conversation: { count: 1000, windowMs: 10_000 },
        writes: { count: 300, windowMs: 10_000 },
      },
    });
  });

  it('reads the word list, the mode, a words file and off', () => {
    expect(
      parseModerationConfig({
        SENSITIVE_WORDS: ' darn , 傻瓜,,',
        SENSITIVE_WORDS_FILE: '/etc/words.txt',
        MODERATION_MODE: 'reject',
        RATE_LIMIT_IDENTITY: 'off',
        RATE_LIMIT_CONVERSATION: '50/1m',
        RATE_LIMIT_WRITES: 'off',
      }),
    ).toEqual({
      words: ['darn', '傻瓜'],
      wordsFile: '/etc/words.txt',
      mode: 'reject',
      rates: { conversation: { count: 50, windowMs: 60_000 } },
    });
  });

  it('refuses to start with a bad value, naming the variable', () => {
    expect(() => parseConfig({ MODERATION_MODE: 'block' })).toThrow(/MODERATION_MODE/);
    expect(() => parseConfig({ RATE_LIMIT_CONVERSATION: '10 per second' })).toThrow(
      /RATE_LIMIT_CONVERSATION/,
    );
  });
});
