/**
 * The snapshot tables catch up exactly after trouble: a database that is down for a while (the
 * server reaches it through a proxy the test cuts), and a kill -9 of the server in the middle of
 * projecting. Afterwards every row equals the documents, no row is lost or duplicated, and each
 * domain event is there once. On PGlite by default, on Postgres with DATABASE_URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Client } from '../../client/index.js';
import { SERVER_ARGV } from '../../server/command.js';
import type { Sql } from '../../server/db/connect.js';
import { openPglite } from '../../server/db/pglite.js';
import { checkSnapshot } from '../../server/projector/check.js';
import { openLeveldbStore } from '../../server/store/leveldb.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import { DATABASE_URL, testSchema } from '../db.js';
import { id, sdkClient, startTestServer, TEST_SECRET, tempDir, waitFor } from '../helpers.js';
import { tcpProxy } from '../tcp-proxy.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

/** A database the test owns: Postgres in a schema of its own, or a PGlite served on a port. */
async function database(): Promise<{ url: string; schema?: string; sql: Sql }> {
  if (DATABASE_URL) {
    const schema = testSchema();
    const sql = postgres(DATABASE_URL, {
      max: 2,
      onnotice: () => {},
      connection: { search_path: schema },
    }) as unknown as Sql;
    await sql.unsafe(`CREATE SCHEMA "${schema}"`);
    cleanup.push(async () => {
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.end();
    });
    return { url: DATABASE_URL, schema, sql };
  }
  // PGlite in a process of its own: the link to it can be cut like a network link.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/pglite-server.ts', path.join(await tempDir(), 'pg')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const url = await waitFor(() => /postgres:\/\/\S+/.exec(out)?.[0], 90_000, 'pglite server');
  const sql = postgres(url, { max: 1, onnotice: () => {} }) as unknown as Sql;
  cleanup.push(async () => {
    await sql.end();
    child.kill('SIGTERM');
  });
  return { url, sql };
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as import('node:net').AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

async function client(url: string, who: string): Promise<Client> {
  const c = await sdkClient(url, who, { maxBackoffMs: 100 });
  cleanup.push(() => c.close());
  return c;
}

async function stored(dataDir: string, key: string): Promise<Y.Doc> {
  const store = await openLeveldbStore(path.join(dataDir, 'docs'));
  const doc = new Y.Doc();
  for (const u of await store.load(key)) Y.applyUpdate(doc, u);
  await store.close();
  return doc;
}

async function eventsOnce(sql: Sql): Promise<{ total: number; distinct: number; sent: number }> {
  const [row] = await sql<{ total: string; distinct: string; sent: string }[]>`
    SELECT count(*) AS total, count(DISTINCT event_key) AS distinct,
           count(*) FILTER (WHERE event_type = 'IMMessageSent') AS sent FROM t_domain_event`;
  return { total: Number(row!.total), distinct: Number(row!.distinct), sent: Number(row!.sent) };
}

it('catches up exactly after the database was down for a while', async () => {
  const db = await database();
  const url = new URL(db.url);
  const proxy = await tcpProxy(url.hostname, Number(url.port || 5432));
  cleanup.push(() => proxy.close());
  url.port = String(proxy.port);
  const ts = await startTestServer({
    env: {
      SNAPSHOTS: 'on',
      DATABASE_URL: url.toString(),
      // pglite-socket serves one session: the server must use one connection.
      ...(db.schema ? {} : { DATABASE_POOL_MAX: '1' }),
      PROJECTOR_DEBOUNCE_MS: '20',
      PROJECTOR_MAX_DELAY_MS: '100',
      ...(db.schema ? { DATABASE_SCHEMA: db.schema } : {}),
    },
  });
  cleanup.push(() => ts.close());
  const alice = await client(ts.httpUrl, 'alice');
  const conv = await alice.openPrivate('bob');
  await conv.whenSynced();
  for (let i = 0; i < 20; i++) await conv.send({ content: `before ${i}` });
  await waitFor(
    () => conv.messages().every((m) => !m.pending) && ts.server.projector!.pending === 0,
    10_000,
    'projected',
  );

  proxy.cut();
  const first = conv.messages()[0]!;
  for (let i = 0; i < 30; i++) await conv.send({ content: `during ${i}` });
  await conv.recall(first.key);
  await waitFor(
    () => conv.messages().length === 50 && conv.messages().every((m) => !m.pending),
    10_000,
    'accepted while the database is down',
  );
  await new Promise((r) => setTimeout(r, 1200));
  const health = (await (await fetch(`${ts.httpUrl}/health`)).json()) as {
    data: { snapshots: { lagMs: number } };
  };
  expect(health.data.snapshots.lagMs).toBeGreaterThan(1000); // the lag is visible
  proxy.restore();

  await waitFor(
    () => ts.server.projector!.pending === 0 && ts.server.projector!.lagMs() === 0,
    40_000,
    'caught up',
  );
  const { doc, release } = await ts.server.rooms.borrow(conv.key);
  try {
    expect(await checkSnapshot(db.sql, doc)).toEqual([]);
  } finally {
    release();
  }
  expect(await eventsOnce(db.sql)).toMatchObject({ sent: 50 });
  const ev = await eventsOnce(db.sql);
  expect(ev.total).toBe(ev.distinct);
}, 240_000);

it('catches up exactly after a kill -9 in the middle of projecting', async () => {
  const dataDir = await tempDir();
  const schema = DATABASE_URL ? testSchema() : undefined;
  const port = await freePort(); // the same port after the restart: the client reconnects by itself
  // One node on LevelDB, whose documents `stored` reads back: not cluster mode, which CI's
  // second phase would turn on through the REDIS_URL it sets (then the documents live in the
  // Postgres log, `stored` finds none and the check compares nothing; and that phase's
  // FLUSHALL of the Redis-wiped test could take the conversation from its owner).
  const { REDIS_URL: _cluster, ...inherited } = process.env;
  const env = {
    ...inherited,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    PROJECTOR_DEBOUNCE_MS: '5',
    PROJECTOR_MAX_DELAY_MS: '20',
    // Streams as fast as it can: a flood by the default rate limit, and not what this tests.
    RATE_LIMIT_IDENTITY: 'off',
    ...(DATABASE_URL ? { DATABASE_URL, DATABASE_SCHEMA: schema! } : {}),
  };
  const start = async (): Promise<{ child: ChildProcess; url: string; log: () => string }> => {
    const child = spawn(process.execPath, [...SERVER_ARGV], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.push(async () => child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const url = await waitFor(
      () => /"msg":"convosync listening","url":"([^"]+)"/.exec(out)?.[1],
      90_000,
      'listening',
    );
    return { child, url, log: () => out };
  };
  const killed = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  let server = await start();
  const alice = await client(server.url, 'alice');
  const conv = await alice.openPrivate('bob');
  await conv.whenSynced();
  // Stream messages, and kill the server once projections are running (the log says so).
  const sending = (async () => {
    for (let i = 0; i < 200; i++) await conv.send({ content: `m${i}` }).catch(() => undefined);
  })();
  await waitFor(
    () => conv.messages().filter((m) => !m.pending).length >= 60,
    20_000,
    '60 accepted',
  );
  await killed(server.child);
  await sending;

  server = await start();
  await waitFor(
    () => conv.messages().length === 200 && conv.messages().every((m) => !m.pending),
    30_000,
    'all 200 accepted',
  );
  // Wait until the restarted server has projected everything (its health says so), then stop it.
  const deadline = Date.now() + 40_000;
  for (;;) {
    const health = (await (await fetch(`${server.url}/health`)).json()) as {
      data: { snapshots: { lagMs: number; pendingDocuments: number } };
    };
    if (health.data.snapshots.pendingDocuments === 0 && health.data.snapshots.lagMs === 0) break;
    if (Date.now() > deadline)
      throw new Error(`no catch-up: ${JSON.stringify(health.data)}\n${server.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await alice.close();
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;

  // Check the tables against the stored document, reading the database directly.
  const key = privateKey(id('alice'), id('bob'));
  const doc = await stored(dataDir, key);
  let sql: Sql;
  let close: () => Promise<unknown>;
  if (DATABASE_URL) {
    sql = postgres(DATABASE_URL, {
      max: 1,
      onnotice: () => {},
      connection: { search_path: schema! },
    }) as unknown as Sql;
    close = async () => {
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.end();
    };
  } else {
    const db = await openPglite(path.join(dataDir, 'pg'));
    const pg = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
    await pg.start();
    sql = postgres(`postgres://postgres@${pg.getServerConn()}/postgres`, {
      max: 1,
      onnotice: () => {},
    }) as unknown as Sql;
    close = async () => {
      await sql.end();
      await pg.stop();
      await db.close();
    };
  }
  try {
    expect(conversationRoots(doc).stamps.size).toBe(200); // the document itself was read
    expect(await checkSnapshot(sql, doc)).toEqual([]);
    const ev = await eventsOnce(sql);
    expect(ev.sent).toBe(200);
    expect(ev.total).toBe(ev.distinct);
    const [rows] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM t_msg_body`;
    expect(Number(rows!.n)).toBe(200);
  } finally {
    await close();
  }
}, 300_000);
