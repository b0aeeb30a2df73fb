/**
 * @module The database tests run on: the real Postgres when DATABASE_URL is set (each test file
 * in a schema of its own, dropped afterwards), an embedded PGlite otherwise.
 */
import { type Database, openDatabase } from '../server/db/connect.js';
import { createLogger } from '../server/log.js';
import { startTestServer, type TestServer, tempDir } from './helpers.js';

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

/**
 * A test server with the snapshot tables on: the embedded PGlite, or the Postgres of
 * DATABASE_URL in a schema of its own that `close()` drops.
 */
export async function startSnapshotServer(env: Record<string, string> = {}): Promise<TestServer> {
  const schema = DATABASE_URL ? testSchema() : undefined;
  const ts = await startTestServer({
    env: {
      SNAPSHOTS: 'on',
      PROJECTOR_DEBOUNCE_MS: '10',
      ...(DATABASE_URL && schema ? { DATABASE_URL, DATABASE_SCHEMA: schema } : {}),
      ...env,
    },
  });
  return {
    ...ts,
    async close() {
      if (schema) await ts.server.db!.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await ts.close();
    },
  };
}
