/**
 * @module The FileRefs acceptance suite: every implementation runs it (disk-refs.test.ts,
 * postgres.test.ts), like blob-store.case.ts for the bytes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { asIdentityId } from '../../shared/ids.js';
import { type ConversationKey, privateKey } from '../../shared/keys.js';
import type { Sha256 } from './blob-store.js';
import type { FileRecord, FileRefs } from './refs.js';

export const hash = (s: string) => createHash('sha256').update(s).digest('hex') as Sha256;
export const chat = privateKey(asIdentityId('alice'), asIdentityId('bob'));

export const record = (over: Partial<FileRecord> = {}): FileRecord => ({
  conversationKey: chat,
  sha256: hash('x'),
  size: 1,
  mime: 'image/png',
  format: 'image',
  name: 'x.png',
  uploadedBy: asIdentityId('alice'),
  uploadedAt: 1,
  ...over,
});

export function runFileRefsSuite(name: string, open: () => Promise<FileRefs>): void {
  describe(`FileRefs: ${name}`, () => {
    it('finds a reference only in the conversation it was added to', async () => {
      const refs = await open();
      await refs.add(record());
      expect(await refs.find(chat, hash('x'))).toEqual(record());
      expect(await refs.find(chat, hash('y'))).toBeUndefined();
      const other = privateKey(asIdentityId('alice'), asIdentityId('carol'));
      expect(await refs.find(other, hash('x'))).toBeUndefined();
    });

    it('keeps the first reference when the same bytes are added again, also concurrently', async () => {
      const refs = await open();
      const kept = await Promise.all(
        ['alice', 'bob', 'alice'].map((who, i) =>
          refs.add(record({ uploadedBy: asIdentityId(who), uploadedAt: i })),
        ),
      );
      const stored = await refs.find(chat, hash('x'));
      expect(kept.every((k) => k.uploadedAt === stored!.uploadedAt)).toBe(true);
    });

    it('refuses keys that are not conversation keys and names that are not hashes', async () => {
      const refs = await open();
      await expect(refs.find('../../etc' as ConversationKey, hash('x'))).rejects.toMatchObject({
        code: 'INVALID_KEY',
      });
      await expect(refs.find(chat, '../../../passwd' as Sha256)).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(
        refs.add(record({ conversationKey: 'private_a_b/../../x' as ConversationKey })),
      ).rejects.toMatchObject({ code: 'INVALID_KEY' });
    });
  });
}
