/**
 * @module BlobStore in Postgres, which every node of a cluster reads (tables in
 * db/migrations/005_cluster.sql). Bytes are BYTEA rows of 256 KiB, not large objects: rows go
 * through PgBouncer transaction pooling, pg_dump and logical replication like every other table,
 * a deleted blob is vacuumed like any row (large objects leave orphans for `vacuumlo`), and the
 * `postgres` driver streams them with plain queries (it has no large-object API). The price is a
 * few bytes of row overhead per chunk and Postgres's 1 GB field limit per chunk, far above ours.
 *
 * An upload streams its chunks in under a fresh upload id while it is hashed and counted, then
 * one transaction inserts the blob row naming that upload (ON CONFLICT: the same bytes are there
 * already, and this upload's chunks are deleted). A reader finds a blob only through its row, so
 * it sees the whole blob or none. Uploads cut short by a crash are swept an hour later.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ConvosyncError } from '../../shared/errors.js';
import type { Sql } from '../db/connect.js';
import type { BlobInfo, BlobStore, Sha256 } from './blob-store.js';
import { asSha256 } from './blob-store.js';

const CHUNK = 256 * 1024;
const ABANDONED_MS = 3_600_000;

export async function postgresBlobStore(sql: Sql): Promise<BlobStore> {
  // Leftovers of uploads a crash cut short: nothing refers to them.
  const before = Date.now() - ABANDONED_MS;
  await sql`DELETE FROM file_chunk WHERE upload IN
              (SELECT upload FROM file_upload WHERE started_at < ${before})`;
  await sql`DELETE FROM file_upload WHERE started_at < ${before}`;

  const discard = async (upload: string) => {
    await sql`DELETE FROM file_chunk WHERE upload = ${upload}`;
    await sql`DELETE FROM file_upload WHERE upload = ${upload}`;
  };

  const row = async (sha256: Sha256) => {
    const [found] = await sql<{ size: string; upload: string }[]>`
      SELECT size, upload FROM file_blob WHERE sha256 = ${asSha256(sha256)}`;
    return found;
  };

  const stat = async (sha256: Sha256): Promise<BlobInfo | undefined> => {
    const found = await row(sha256);
    return found ? { sha256, size: Number(found.size) } : undefined;
  };

  return {
    async put(chunks, maxBytes) {
      const upload = randomUUID();
      await sql`INSERT INTO file_upload (upload, started_at) VALUES (${upload}, ${Date.now()})`;
      const hash = createHash('sha256');
      let size = 0;
      let n = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async (all: boolean) => {
        while (pendingBytes >= CHUNK || (all && pendingBytes > 0)) {
          const joined = Buffer.concat(pending);
          const data = joined.subarray(0, CHUNK);
          const rest = joined.subarray(data.length);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
          await sql`INSERT INTO file_chunk (upload, n, data) VALUES (${upload}, ${n++}, ${data})`;
        }
      };
      try {
        for await (const chunk of chunks) {
          size += chunk.byteLength;
          if (size > maxBytes)
            throw new ConvosyncError('FILE_TOO_LARGE', `more than ${maxBytes} bytes`);
          hash.update(chunk);
          pending.push(Buffer.from(chunk));
          pendingBytes += chunk.byteLength;
          await flush(false);
        }
        await flush(true);
        const sha256 = hash.digest('hex') as Sha256;
        const created = await sql.begin(async (tx) => {
          const inserted = await tx`
            INSERT INTO file_blob (sha256, size, upload, created_at)
            VALUES (${sha256}, ${size}, ${upload}, ${Date.now()})
            ON CONFLICT (sha256) DO NOTHING RETURNING sha256`;
          if (inserted.length === 0) return false;
          await tx`DELETE FROM file_upload WHERE upload = ${upload}`;
          return true;
        });
        if (!created) await discard(upload);
        return { sha256, size, created };
      } catch (error) {
        await discard(upload).catch(() => undefined); // else swept an hour later
        throw error;
      }
    },
    stat,
    has: async (sha256) => (await row(sha256)) !== undefined,
    async get(sha256) {
      const found = await row(sha256);
      if (!found) return undefined;
      const count = Math.ceil(Number(found.size) / CHUNK);
      let n = 0;
      // One chunk per pull: a slow reader holds 256 KiB, not the file.
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (n >= count) {
            controller.close();
            return;
          }
          const [chunk] = await sql<{ data: Buffer }[]>`
            SELECT data FROM file_chunk WHERE upload = ${found.upload} AND n = ${n}`;
          if (!chunk) {
            controller.error(new Error(`blob ${sha256}: chunk ${n} is missing`));
            return;
          }
          n += 1;
          controller.enqueue(new Uint8Array(chunk.data));
        },
      });
    },
  };
}
