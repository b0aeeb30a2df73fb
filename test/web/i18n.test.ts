/** The web app's words and formats (web/src/i18n.ts), outside a browser. */
import { describe, expect, it } from 'vitest';
import { formatSize, setLanguage, TABLES, t } from '../../web/src/i18n.js';

describe('web i18n', () => {
  it('gives sizes as a person reads them (a 22-byte file is not "1 KB")', () => {
    setLanguage('en');
    expect(formatSize(22)).toBe('22 B');
    expect(formatSize(3_500)).toBe('3.4 KB');
    expect(formatSize(250_000)).toBe('244 KB');
    expect(formatSize(1_300_000)).toBe('1.2 MB');
  });

  it('has every English string in Chinese, with the same placeholders', () => {
    for (const [key, english] of Object.entries(TABLES.en)) {
      const chinese = TABLES['zh-CN'][key as keyof typeof TABLES.en];
      expect(chinese, key).toBeTruthy();
      const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(chinese), key).toEqual(names(english));
    }
    setLanguage('zh-CN');
    expect(t('unreadBadge', { count: 3 })).toBe('3 条未读');
    setLanguage('en');
    expect(t('unreadBadge', { count: 3 })).toBe('3 unread');
  });
});
