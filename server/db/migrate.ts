/**
 * @module The migration runner: applies `migrations/NNN_name.sql` in order, each once, each in
 * a transaction with its version recorded, under an advisory lock so two servers starting at
 * once do not race. Safe to run twice. Run at start-up and by `npm run migrate`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './connect.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const LOCK = 7_358_221; // any constant: one advisory lock for convosync's migrations

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = DIR): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 3)),
      name: file.slice(4, -4),
      sql: await fs.readFile(path.join(dir, file), 'utf8'),
    })),
  );
}

/** Applies the pending migrations; returns the versions it applied. */
export async function migrate(sql: Sql, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`;
    const done = new Set(
      (await tx<{ version: number }[]>`SELECT version FROM schema_migrations`).map(
        (r) => r.version,
      ),
    );
    for (const m of all) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${Date.now()})`;
      applied.push(m.version);
    }
  });
  return applied;
}
