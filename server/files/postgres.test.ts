import { afterAll, describe, expect, it } from 'vitest';
import { hasEnv, needs } from '../../test/cluster-env.js';
import { openTestDatabase } from '../../test/db.js';
import type { Database } from '../db/connect.js';
import { migrate } from '../db/migrate.js';
import { chunked, readAll, runBlobStoreSuite, sha256 } from './blob-store.case.js';
import { postgresBlobStore } from './postgres.js';
import { postgresFileRefs } from './postgres-refs.js';
import { runFileRefsSuite } from './refs.case.js';

/** Schemas made here, dropped at the end. The suites share one (their data never clashes). */
const opened: Database[] = [];
const fresh = async () => {
  const db = await openTestDatabase();
  await migrate(db.sql);
  opened.push(db);
  return db;
};
let sharedDb: Promise<Database> | undefined;
const shared = async () => {
  sharedDb ??= fresh();
  return (await sharedDb).sql;
};

if (hasEnv('DATABASE_URL')) {
  runBlobStoreSuite('postgres', async () => postgresBlobStore(await shared()));
  runFileRefsSuite('postgres', async () => postgresFileRefs(await shared()));
} else {
  describe.skip(`BlobStore and FileRefs: postgres${needs('DATABASE_URL')}`, () => {
    it('runs the acceptance suites', () => {});
  });
}

describe.skipIf(!hasEnv('DATABASE_URL'))(
  `BlobStore: postgres specifics${needs('DATABASE_URL')}`,
  () => {
    it('serves a blob stored through one node from another, in 256 KiB chunks', async () => {
      const db = await fresh();
      const first = await postgresBlobStore(db.sql);
      const second = await postgresBlobStore(db.sql); // another node: nothing in memory shared
      const bytes = Buffer.alloc(600_000, 7);
      const stored = await first.put(chunked(bytes, 10_000), 1_000_000);
      expect(Buffer.compare(await readAll(await second.get(stored.sha256)), bytes)).toBe(0);
      const chunks = await db.sql<{ n: number; len: number }[]>`
      SELECT n, length(data) AS len FROM file_chunk ORDER BY n`;
      expect(chunks.map((c) => c.len)).toEqual([262_144, 262_144, 75_712]);
      // A refused upload leaves no chunk or upload row behind.
      await expect(second.put(chunked(bytes, 100_000), 500_000)).rejects.toMatchObject({
        code: 'FILE_TOO_LARGE',
      });
      expect(await db.sql`SELECT 1 FROM file_upload`).toHaveLength(0);
      expect(await db.sql`SELECT 1 FROM file_chunk`).toHaveLength(3);
      expect(await second.has(sha256(bytes))).toBe(true);
    });
  },
);

afterAll(async () => {
  for (const db of opened) await db.close();
});
