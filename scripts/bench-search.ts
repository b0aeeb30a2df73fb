/**
 * @module `npm run bench:search`: message search on a table of 100,000 messages, on the embedded
 * PGlite by default or the Postgres of DATABASE_URL (in a throwaway schema).
 *
 * Fills the snapshot tables with SQL (1,000 conversations; the searching identity is a member
 * of 200 of them, ~20,000 messages; texts drawn from English and Chinese words), then, for
 * each query, prints the plan's index use (EXPLAIN ANALYZE of the search's own WHERE clause)
 * and the time of the endpoint's two queries (page + total), median and p95 of 20 runs.
 * `-- --rows 200000` to vary.
 */
import { parseArgs } from 'node:util';
import { openDatabase } from '../server/db/connect.js';
import { migrate } from '../server/db/migrate.js';
import { createLogger } from '../server/log.js';
import { matching, searchMessages } from '../server/search/message-search.js';
import { tempDir } from '../test/helpers.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' } } });
const rows = Number(values.rows);
const url = process.env.DATABASE_URL;
const schema = url ? `bench_search_${process.pid}` : undefined;
const db = await openDatabase({
  ...(url ? { url } : {}),
  ...(schema ? { schema } : {}),
  dataDir: await tempDir('convosync-bench-'),
  log: createLogger('silent'),
});
const { sql } = db;
try {
  await migrate(sql);
  const words = [
    'budget',
    'meeting',
    'report',
    'review',
    'deadline',
    'invoice',
    'shipping',
    'refund',
    'quarterly',
    'design',
    'hello',
    'thanks',
    '明天',
    '下午',
    '开会',
    '讨论',
    '预算',
    '发货',
    '退款',
    '订单',
    '你好',
    '谢谢',
    '报告',
    '设计',
    '明天下午开会',
  ];
  const started = Date.now();
  await sql`
    INSERT INTO t_conversation (conversation_id, conversation_key, conversation_type, setting, create_time, update_time)
    SELECT g, 'group_' || lpad(to_hex(g), 32, '0'), 'group', '{"enableMessageHistory": true}'::jsonb, 0, 0
    FROM generate_series(1, 1000) g`;
  await sql`
    INSERT INTO t_conversation_member (member_id, conversation_id, identity_id, identity_type, member_status, join_time, create_time, update_time)
    SELECT g, g, CASE WHEN g % 5 = 0 THEN 'bench' ELSE 'other' || g END, 1, 1, 0, 0, 0
    FROM generate_series(1, 1000) g`;
  // Six random words per message; one message in 1,000 holds a rare word.
  await sql`
    INSERT INTO t_msg_body (message_id, content, create_time, update_time, message_type, conversation_id,
      message_format, is_recalled, sender_identity_id, sender_identity_type, conversation_seq, client_message_key)
    SELECT g, (
        SELECT string_agg((${sql.array(words)}::text[])[1 + floor(random() * ${words.length})::int], ' ')
        FROM generate_series(1, 6) w WHERE g > 0
      ) || CASE WHEN g % 1000 = 4 THEN ' zanzibar' ELSE '' END,
      g, g, 1, (1 + g % 1000)::text, 0, FALSE, 'other', 1, g, lpad(to_hex(g), 32, '0')
    FROM generate_series(1, ${rows}) g`;
  await sql`ANALYZE`;
  console.log(`${db.kind}: ${rows} messages inserted in ${Date.now() - started} ms`);

  const timings = async (q: string) => {
    const ms: number[] = [];
    let total = 0;
    for (let i = 0; i < 20; i += 1) {
      const t0 = performance.now();
      total = (await searchMessages(sql, { identityId: 'bench', q, pageNum: 1, pageSize: 20 }))
        .total;
      ms.push(performance.now() - t0);
    }
    if (process.env.VERBOSE) console.log(ms.map((x) => x.toFixed(0)).join(' '));
    ms.sort((a, b) => a - b);
    return { total, p50: ms[10]!, p95: ms[18]! };
  };
  for (const q of process.env.QUERIES?.split(',') ?? [
    'zanzibar',
    'budget',
    'quarterly report',
    '下午开会',
    '预算',
    'nothing-like-it',
  ]) {
    const plan = (
      await sql<{ 'QUERY PLAN': string }[]>`
        EXPLAIN ANALYZE SELECT b.message_id
        ${matching(sql, { identityId: 'bench', q })}
        ORDER BY b.message_id DESC LIMIT 20`
    ).map((r) => r['QUERY PLAN']);
    const unscoped = (
      await sql<{ 'QUERY PLAN': string }[]>`
        EXPLAIN SELECT count(*) FROM t_msg_body WHERE content ILIKE ${`%${q}%`}`
    ).map((r) => r['QUERY PLAN']);
    const { total, p50, p95 } = await timings(q);
    if (process.env.VERBOSE) {
      const t0 = performance.now();
      await sql`SELECT count(*) ${matching(sql, { identityId: 'bench', q })}`;
      const t1 = performance.now();
      await sql`SELECT b.message_id ${matching(sql, { identityId: 'bench', q })} ORDER BY b.message_id DESC LIMIT 20`;
      console.log(
        `count ${(t1 - t0).toFixed(1)} ms, page ${(performance.now() - t1).toFixed(1)} ms`,
      );
      const countPlan = await sql<
        { 'QUERY PLAN': string }[]
      >`EXPLAIN ANALYZE SELECT count(*) ${matching(sql, { identityId: 'bench', q })}`;
      console.log(countPlan.map((r) => r['QUERY PLAN']).join('\n'));
    }
    const uses = (lines: string[]) =>
      lines.some((l) => l.includes('idx_msg_content_trgm')) ? 'trigram index' : 'no trigram index';
    console.log(
      `${JSON.stringify(q).padEnd(20)} hits ${String(total).padStart(6)}  ` +
        `p50 ${p50.toFixed(1).padStart(6)} ms  p95 ${p95.toFixed(1).padStart(6)} ms  ` +
        `scoped plan: ${uses(plan)}; unscoped ILIKE: ${uses(unscoped)}`,
    );
    if (process.env.VERBOSE) console.log(plan.join('\n'));
  }
} finally {
  if (schema) await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.close();
}
