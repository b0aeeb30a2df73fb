/**
 * @module `npm run bench:cluster`: what the cluster pieces cost on this machine, against the
 * real Postgres and Redis (DATABASE_URL, REDIS_URL; the local defaults otherwise).
 *
 * - fenced append (store/postgres.ts `appendAt`): one room at a time, and 16 rooms in parallel;
 *   beside each a plain INSERT of the same rows without the snapshot guard, the guard's cost;
 * - loading a 2,000-row log (`loadLog`), beside a plain SELECT of the rows;
 * - the lease's heartbeat renewal and claim script (cluster/lease.ts);
 * - a Redis Streams hop, XADD then a blocking XREAD on a duplicate() connection with Buffers
 *   (what the relays of the next step use);
 * - a presence change, a presence lookup of 100 identities, an identity rate-limit take.
 * Run in a schema of its own, dropped at the end. `-- --quick` for fewer samples.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RESP_TYPES } from '@redis/client';
import * as Y from 'yjs';
import { startNodeLease } from '../server/cluster/lease.js';
import { redisPresence } from '../server/cluster/presence.js';
import { redisRateLimit } from '../server/cluster/rate-limit.js';
import { connectRedis } from '../server/cluster/redis.js';
import { openDatabase } from '../server/db/connect.js';
import { migrate } from '../server/db/migrate.js';
import { createLogger } from '../server/log.js';
import { openPostgresStore } from '../server/store/postgres.js';
import { asIdentityId } from '../shared/ids.js';

const QUICK = process.argv.includes('--quick');
const N = QUICK ? 500 : 3000;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const ms = (samples: number[], q: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const row = (name: string, samples: number[], extra = '') =>
  console.log(
    `${name.padEnd(44)} p50 ${ms(samples, 0.5).toFixed(3)} ms   p99 ${ms(samples, 0.99).toFixed(3)} ms${extra}`,
  );
const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

/** A message-sized Yjs update (about what one chat message appends). */
const message = (i: number) => {
  const doc = new Y.Doc();
  doc.getMap('messages').set(`m${i}`, {
    sender: 'alice',
    content: `message number ${i}, long enough to look like one`,
    at: Date.now(),
  });
  return Y.encodeStateAsUpdate(doc);
};

const schema = `bench_${process.pid}`;
const db = await openDatabase({
  url: DATABASE_URL,
  schema,
  poolMax: 20,
  dataDir: '/nonexistent',
  log: createLogger('silent'),
});
const redis = await connectRedis(REDIS_URL);
try {
  await migrate(db.sql);
  const store = openPostgresStore(db.sql, { node: 1 });
  const updates = Array.from({ length: N }, (_, i) => message(i));
  console.log(
    `postgres ${DATABASE_URL.replace(/:[^:@/]*@/, '@')}, redis ${REDIS_URL}, ${N} samples`,
  );

  // Warm the pool and the plan cache.
  for (let i = 1; i <= 50; i++) await store.appendAt('warm', updates[i]!, i);

  const one: number[] = [];
  for (let i = 0; i < N; i++)
    one.push(await timed(() => store.appendAt('room', updates[i]!, i + 1)));
  row('fenced append, one room at a time', one);

  const plain: number[] = [];
  for (let i = 0; i < N; i++)
    plain.push(
      await timed(
        () =>
          db.sql`INSERT INTO doc_log (doc, pos, node, upd) VALUES ('plain', ${i + 1}, 1, ${Buffer.from(updates[i]!)})`,
      ),
    );
  row('plain INSERT (no snapshot guard)', plain);

  const rooms = 16;
  const parallel: number[] = [];
  const per = Math.floor(N / rooms);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: rooms }, async (_, r) => {
      for (let i = 0; i < per; i++)
        parallel.push(await timed(() => store.appendAt(`par${r}`, updates[i]!, i + 1)));
    }),
  );
  const rate = (rooms * per) / ((performance.now() - start) / 1000);
  row('fenced append, 16 rooms in parallel', parallel, `   ${Math.round(rate)}/s`);

  const plainParallel: number[] = [];
  const plainStart = performance.now();
  await Promise.all(
    Array.from({ length: rooms }, async (_, r) => {
      for (let i = 0; i < per; i++)
        plainParallel.push(
          await timed(
            () =>
              db.sql`INSERT INTO doc_log (doc, pos, node, upd) VALUES (${`plain${r}`}, ${i + 1}, 1, ${Buffer.from(updates[i]!)})`,
          ),
        );
    }),
  );
  const plainRate = (rooms * per) / ((performance.now() - plainStart) / 1000);
  row('plain INSERT, 16 rooms in parallel', plainParallel, `   ${Math.round(plainRate)}/s`);

  for (let i = 0; i < 2000; i++) await store.appendAt('long', updates[i % N]!, i + 1);
  const loads: number[] = [];
  for (let i = 0; i < (QUICK ? 10 : 30); i++) loads.push(await timed(() => store.loadLog('long')));
  row('loadLog of 2,000 rows', loads);
  const selects: number[] = [];
  for (let i = 0; i < (QUICK ? 10 : 30); i++)
    selects.push(
      await timed(() => db.sql`SELECT pos, upd FROM doc_log WHERE doc = 'long' ORDER BY pos`),
    );
  row('plain SELECT of the same 2,000 rows', selects);

  const lease = await startNodeLease({ redis, id: `bench-${randomUUID()}` });
  const renews: number[] = [];
  for (let i = 0; i < N; i++)
    renews.push(
      await timed(() =>
        redis.set(`cs:node:${lease.id}`, '1', { expiration: { type: 'PX', value: 5000 } }),
      ),
    );
  row('lease renew (SET PX)', renews);
  const claims: number[] = [];
  for (let i = 0; i < N; i++) claims.push(await timed(() => lease.claim(`bench_room_${i % 100}`)));
  row('room claim (Lua compare-and-set)', claims);

  const reader = redis.duplicate().withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  reader.on('error', () => {});
  await reader.connect();
  const stream = `cs:bench:${randomUUID()}`;
  const hops: number[] = [];
  let last = '0-0'; // an explicit id, never '$': the XADD may reach Redis before the XREAD
  for (let i = 0; i < (QUICK ? 300 : 2000); i++) {
    const read = reader.xRead({ key: stream, id: last }, { BLOCK: 1000, COUNT: 1 });
    const sent = performance.now();
    await redis.xAdd(stream, '*', { f: Buffer.from(updates[i % N]!) });
    const got = (await read) as Array<{ messages: Array<{ id: Buffer; message: { f: Buffer } }> }>;
    hops.push(performance.now() - sent);
    const entry = got[0]!.messages[0]!;
    if (!Buffer.isBuffer(entry.message.f)) throw new Error('stream entry not binary');
    last = entry.id.toString();
  }
  row('Redis XADD -> XREAD hop (Buffers)', hops);
  await redis.del(stream);
  await reader.close();

  const presence = redisPresence({ redis, node: lease.id });
  const changes: number[] = [];
  const ids = Array.from({ length: 100 }, (_, i) => asIdentityId(`bench${i}`));
  for (let i = 0; i < N; i++)
    changes.push(
      await timed(async () => {
        presence.connected(ids[i % 100]!);
        await redis.ping(); // the change is fire-and-forget; the ping after it waits for it
      }),
    );
  row('presence change (+ ping)', changes);
  const lookups: number[] = [];
  for (let i = 0; i < (QUICK ? 100 : 500); i++)
    lookups.push(await timed(() => presence.lookup(ids)));
  row('presence lookup, 100 identities', lookups);
  await presence.close();
  await redis.del(ids.map((id) => `cs:seen:${id}`));
  await redis.sRem('cs:pres:nodes', lease.id);

  const limiter = redisRateLimit({
    redis,
    limits: { identity: { count: 1_000_000, windowMs: 1000 } },
    now: Date.now,
  });
  const takes: number[] = [];
  for (let i = 0; i < N; i++) takes.push(await timed(() => limiter.take('bench', 'group_x', 1)));
  row('identity rate-limit take (Lua)', takes);
  await redis.del('cs:rl:m:bench');
  await lease.drain();
} finally {
  await db.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.close();
  await redis.close();
}
