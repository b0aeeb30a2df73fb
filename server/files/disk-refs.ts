/**
 * @module FileRefs on the local disk: one small JSON file per reference,
 * `refs/<conversationKey>/<sha256>.json`, beside the blobs. Conversation keys and hashes are
 * checked before they become path segments (neither alphabet has `/` or `.`).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConvosyncError } from '../../shared/errors.js';
import { tryParseKey } from '../../shared/keys.js';
import { asSha256 } from './blob-store.js';
import type { FileRecord, FileRefs } from './refs.js';

export async function diskFileRefs(dir: string): Promise<FileRefs> {
  await fs.mkdir(dir, { recursive: true });

  const where = (conversationKey: string, sha256: string) => {
    if (tryParseKey(conversationKey)?.key !== conversationKey)
      throw new ConvosyncError('INVALID_KEY', `not a conversation key: ${conversationKey}`);
    return path.join(dir, conversationKey, `${asSha256(sha256)}.json`);
  };

  const find = async (conversationKey: string, sha256: string) => {
    try {
      return JSON.parse(await fs.readFile(where(conversationKey, sha256), 'utf8')) as FileRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };

  return {
    async add(record) {
      const target = where(record.conversationKey, record.sha256);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const temp = `${target}.${randomUUID()}.tmp`;
      const file = await fs.open(temp, 'wx');
      try {
        await file.writeFile(JSON.stringify(record));
        await file.sync();
        await file.close();
        // link() fails with EEXIST if the reference exists: the first upload wins atomically,
        // and a reader never sees a half-written record.
        await fs.link(temp, target);
        return record;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        return (await find(record.conversationKey, record.sha256))!;
      } finally {
        await file.close().catch(() => undefined);
        await fs.rm(temp, { force: true });
      }
    },
    find,
  };
}
