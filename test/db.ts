/**
 * @module The database tests run on: the real Postgres when DATABASE_URL is set (each test file
 * in a schema of its own, dropped afterwards), an embedded PGlite otherwise.
 */
import { type Database, openDatabase } from '../server/db/connect.js';
import { createLogger } from '../server/log.js';
import { tempDir } from './helpers.js';

export const DATABASE_URL = process.env.DATABASE_URL;

export function testSchema(): string {
  return `test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function openTestDatabase(): Promise<Database & { schema?: string }> {
  const schema = DATABASE_URL ? testSchema() : undefined;
  const db = await openDatabase({
    ...(DATABASE_URL ? { url: DATABASE_URL } : {}),
    ...(schema ? { schema } : {}),
    dataDir: await tempDir(),
    log: createLogger('silent'),
  });
  return {
    ...db,
    ...(schema ? { schema } : {}),
    async close() {
      if (schema) await db.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    },
  };
}
