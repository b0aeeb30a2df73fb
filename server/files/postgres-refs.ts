/**
 * @module FileRefs in Postgres (`file_ref`, db/migrations/005_cluster.sql), beside the blobs of
 * postgres.ts, so every node finds the reference an upload on another node recorded. The first
 * record of a (conversation, blob) pair is kept: INSERT ... ON CONFLICT DO NOTHING, then a read
 * of the one that won. Keys and hashes are checked as on disk, so both stores refuse the same
 * input with the same codes.
 */
import { ConvosyncError } from '../../shared/errors.js';
import { tryParseKey } from '../../shared/keys.js';
import type { Sql } from '../db/connect.js';
import { asSha256 } from './blob-store.js';
import type { FileRecord, FileRefs } from './refs.js';

export function postgresFileRefs(sql: Sql): FileRefs {
  const checked = (conversationKey: string, sha256: string) => {
    if (tryParseKey(conversationKey)?.key !== conversationKey)
      throw new ConvosyncError('INVALID_KEY', `not a conversation key: ${conversationKey}`);
    return { key: conversationKey, sha256: asSha256(sha256) };
  };

  const find = async (conversationKey: string, sha256: string) => {
    const { key, sha256: hash } = checked(conversationKey, sha256);
    const [row] = await sql<{ record: FileRecord }[]>`
      SELECT record FROM file_ref WHERE conversation_key = ${key} AND sha256 = ${hash}`;
    return row?.record;
  };

  return {
    async add(record) {
      const { key, sha256 } = checked(record.conversationKey, record.sha256);
      const [inserted] = await sql<{ record: FileRecord }[]>`
        INSERT INTO file_ref (conversation_key, sha256, record)
        VALUES (${key}, ${sha256}, ${sql.json(record as never)})
        ON CONFLICT DO NOTHING RETURNING record`;
      return inserted?.record ?? (await find(key, sha256))!;
    },
    find,
  };
}
