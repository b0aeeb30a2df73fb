import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/db.js';
import type { Database } from './connect.js';
import { loadMigrations, migrate } from './migrate.js';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase();
}, 60_000);
afterAll(async () => {
  await db.close();
});

describe(`migrations (${process.env.DATABASE_URL ? 'Postgres' : 'PGlite'})`, () => {
  it('creates the spec tables with their columns, once, and is safe to run twice', async () => {
    const all = await loadMigrations();
    expect(await migrate(db.sql)).toEqual(all.map((m) => m.version));
    expect(await migrate(db.sql)).toEqual([]);
    const columns = await db.sql<{ table_name: string; column_name: string }[]>`
      SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name IN ('t_conversation', 't_conversation_member', 't_msg_body')`;
    const of = (t: string) => columns.filter((c) => c.table_name === t).map((c) => c.column_name);
    expect(of('t_conversation')).toEqual(
      expect.arrayContaining([
        'conversation_id',
        'conversation_key',
        'conversation_type',
        'conversation_name',
        'conversation_avatar',
        'status',
        'setting',
        'last_message_id',
        'last_active_time',
        'current_member_count',
        'max_member_count',
        'first_identity_id',
        'first_identity_type',
        'first_identity_unread_count',
        'second_identity_id',
        'second_identity_type',
        'second_identity_unread_count',
        'source',
        'create_time',
        'update_time',
      ]),
    );
    expect(of('t_conversation_member')).toEqual(
      expect.arrayContaining([
        'member_id',
        'conversation_id',
        'identity_id',
        'identity_type',
        'nickname',
        'avatar',
        'member_role',
        'member_status',
        'join_time',
        'exit_time',
        'last_read_message_id',
        'unread_count',
        'mute_notification',
        'source',
        'create_time',
        'update_time',
      ]),
    );
    expect(of('t_msg_body')).toEqual(
      expect.arrayContaining([
        'message_id',
        'title',
        'content',
        'relating_biz_type',
        'relating_biz_id',
        'relating_parent_msg_id',
        'create_time',
        'update_time',
        'message_type',
        'conversation_id',
        'message_format',
        'reply_to_message_id',
        'file_url',
        'file_size',
        'duration',
        'is_recalled',
        'recall_time',
      ]),
    );
  });

  it('runs concurrently without applying anything twice', async () => {
    const results = await Promise.all([migrate(db.sql), migrate(db.sql)]);
    expect(results.flat()).toEqual([]);
    const rows = await db.sql<{ n: string }[]>`SELECT count(*) AS n FROM schema_migrations`;
    expect(Number(rows[0]!.n)).toBe((await loadMigrations()).length);
  });

  it('renames the conversation index of a database migrated before the spec names (003), also after a higher number', async () => {
    const old = await openTestDatabase();
    try {
      const all = await loadMigrations();
      // 005 was applied too: a lower number that arrives later (a merge) still applies.
      await migrate(
        old.sql,
        all.filter((m) => m.version < 3 || m.version === 5),
      );
      // What the earlier 001 left: the index under its old name.
      await old.sql`ALTER INDEX idx_conversation_id RENAME TO idx_msg_conversation_id`;
      expect(await migrate(old.sql)).toEqual(
        all.filter((m) => m.version >= 3 && m.version !== 5).map((m) => m.version),
      );
      const names = (
        await old.sql<{ indexname: string }[]>`
          SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 't_msg_body'`
      ).map((i) => i.indexname);
      expect(names).toContain('idx_conversation_id');
      expect(names).not.toContain('idx_msg_conversation_id');
    } finally {
      await old.close();
    }
  });
});
