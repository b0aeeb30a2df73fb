/**
 * @module The snapshot database: a real Postgres through `DATABASE_URL`, or, without it, an
 * embedded PGlite (file-backed under DATA_DIR/pg) in a worker thread of its own, served on a
 * loopback port by pglite-socket (pglite-thread.ts), so the same `postgres` driver and the same
 * SQL serve both and no SQL runs on the sync thread. PGlite is one connection (`max: 1`) and
 * holds ~0.9 GB resident; say so in the README.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { redactUrl } from '../redact.js';
import { migrate } from './migrate.js';
import { startPgliteThread } from './pglite-thread.js';

export type Sql = postgres.Sql<Record<string, never>>;

export interface Database {
  sql: Sql;
  /** 'postgres' for DATABASE_URL, 'pglite' for the embedded one. */
  kind: 'postgres' | 'pglite';
  /** Where the driver connects (password removed), for logs and health. */
  where: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url?: string;
  /** A schema to create and use (tests isolate themselves this way); default public. */
  schema?: string;
  /** Pool size for `url` (default 10). */
  poolMax?: number;
  dataDir: string;
  log: Logger;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const sql = connect(options.url, options.poolMax ?? 10, options.schema);
    await ensureSchema(sql, options.schema);
    return {
      sql,
      kind: 'postgres',
      where: redactUrl(options.url, 'postgres'),
      close: () => sql.end({ timeout: 5 }),
    };
  }
  const dir = path.join(options.dataDir, 'pg');
  await fs.mkdir(dir, { recursive: true });
  const thread = await startPgliteThread(dir);
  const url = thread.url;
  const sql = connect(url, 1, options.schema);
  try {
    await ensureSchema(sql, options.schema);
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    await thread.close();
    throw error;
  }
  options.log.info('embedded PGlite started', { dir, url });
  return {
    sql,
    kind: 'pglite',
    where: `pglite:${dir}`,
    async close() {
      await sql.end({ timeout: 5 });
      await thread.close();
    },
  };
}

function connect(url: string, max: number, schema?: string): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    // Fail fast when the database is away: the projector retries, nothing waits on it.
    connect_timeout: 5,
    ...(schema ? { connection: { search_path: schema } } : {}),
  }) as unknown as Sql;
}

async function ensureSchema(sql: Sql, schema?: string): Promise<void> {
  if (schema) await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema.replaceAll('"', '')}"`);
}

/**
 * The snapshot database a configuration names, with its migrations applied: the one way the
 * server, `npm run migrate` and `npm run check:snapshot` open it.
 */
export async function openConfiguredDatabase(
  config: Pick<Config, 'dataDir' | 'databaseUrl' | 'databaseSchema' | 'databasePoolMax'>,
  log: Logger,
  poolMax = config.databasePoolMax,
): Promise<Database & { applied: number[] }> {
  const db = await openDatabase({
    dataDir: config.dataDir,
    log,
    poolMax,
    ...(config.databaseUrl ? { url: config.databaseUrl } : {}),
    ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
  });
  return { ...db, applied: await migrate(db.sql) };
}
