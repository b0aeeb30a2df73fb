import { describe, expect, it } from 'vitest';
import { createWordMatcher } from './words.js';

describe('sensitive-word matcher', () => {
  it('stars each character of a match, case-insensitively, and leaves the rest', () => {
    const words = createWordMatcher(['darn', 'heck']);
    expect(words.censor('Well DARN it, what the Heck')).toBe('Well **** it, what the ****');
    expect(words.test('Well DARN it')).toBe(true);
    expect(words.test('well done')).toBe(false);
    expect(words.censor('well done')).toBe('well done');
  });

  it('finds a Chinese word inside a sentence, with no spaces around it', () => {
    const words = createWordMatcher(['傻瓜', '坏蛋']);
    expect(words.censor('你是傻瓜吗？他才是坏蛋。')).toBe('你是**吗？他才是**。');
    expect(words.test('你好，世界')).toBe(false);
  });

  it('stars overlapping and nested matches as one span', () => {
    const words = createWordMatcher(['abc', 'bcd', 'b', 'xyzzy', 'zz']);
    expect(words.censor('_abcd_')).toBe('_****_');
    expect(words.censor('axyzzyb')).toBe('a******');
    expect(words.censor('zzz')).toBe('***');
  });

  it('folds full-width forms, ignores zero-width characters inside a word, keeps surrogates whole', () => {
    const words = createWordMatcher(['bad', '傻瓜']);
    expect(words.censor('ｂＡｄ')).toBe('***');
    expect(words.censor('傻\u200b瓜!')).toBe('***!');
    expect(words.censor('😀 bad 😀')).toBe('😀 *** 😀');
    expect(createWordMatcher(['😀']).censor('a😀b')).toBe('a*b');
  });

  it('ignores empty entries and counts distinct words', () => {
    const words = createWordMatcher(['', '  ', 'Bad', 'bad', '\u200b']);
    expect(words.size).toBe(1);
    expect(createWordMatcher([]).censor('anything')).toBe('anything');
    expect(createWordMatcher([]).test('anything')).toBe(false);
  });

  it('matches among thousands of words that share prefixes', () => {
    const list = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}x`);
    const words = createWordMatcher(list);
    expect(words.size).toBe(5000);
    expect(words.censor('say w3e7x and w10x')).toBe(`say ${'*'.repeat(5)} and ****`);
    expect(words.test('w3e7 w10')).toBe(false);
  });
});
