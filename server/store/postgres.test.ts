import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { DocName } from '../../shared/keys.js';
import { hasEnv, needs } from '../../test/cluster-env.js';
import { openTestDatabase } from '../../test/db.js';
import { fencedRoomStore } from '../cluster/placement.js';
import { type Database, openDatabase } from '../db/connect.js';
import { migrate } from '../db/migrate.js';
import { createLogger } from '../log.js';
import { isFenced } from './fenced.js';
import { mergeThread } from './merge-thread.js';
import { openPostgresStore } from './postgres.js';
import { runStoreSuite } from './store.case.js';

const fresh = async () => {
  const db = await openTestDatabase();
  await migrate(db.sql);
  return db;
};

if (hasEnv('DATABASE_URL')) {
  runStoreSuite('postgres', async () => {
    const db = await fresh();
    return openPostgresStore(db.sql, { node: 1, onClose: () => db.close() });
  });
} else {
  describe.skip(`DocStore: postgres${needs('DATABASE_URL')}`, () => {
    it('runs the acceptance suite', () => {});
  });
}

const update = (text: string) => {
  const doc = new Y.Doc();
  doc.getMap('messages').set(text, text);
  return Y.encodeStateAsUpdate(doc);
};

describe.skipIf(!hasEnv('DATABASE_URL'))(`DocStore: postgres fence${needs('DATABASE_URL')}`, () => {
  let db: Database & { schema?: string };
  /** A second pool on the same schema: another node. */
  let other: Database;
  beforeAll(async () => {
    db = await fresh();
    other = await openDatabase({
      url: process.env.DATABASE_URL!,
      schema: db.schema!,
      dataDir: '/nonexistent',
      log: createLogger('silent'),
    });
  });
  afterAll(async () => {
    await other.close();
    await db.close();
  });

  it('lets exactly one of two writers racing for a position win; the other is FENCED', async () => {
    const a = openPostgresStore(db.sql, { node: 1 });
    const b = openPostgresStore(other.sql, { node: 2 });
    const winners: number[] = [];
    for (let pos = 1; pos <= 30; pos++) {
      const results = await Promise.allSettled([
        a.appendAt('race', update(`a${pos}`), pos),
        b.appendAt('race', update(`b${pos}`), pos),
      ]);
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i + 1] : []));
      expect(won).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(isFenced(lost.reason)).toBe(true);
      winners.push(won[0]!);
    }
    const rows = await db.sql<{ pos: string; node: number }[]>`
      SELECT pos, node FROM doc_log WHERE doc = 'race' ORDER BY pos`;
    expect(rows.map((r) => Number(r.pos))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(rows.map((r) => r.node)).toEqual(winners);
    const { head, updates } = await b.loadLog('race');
    expect(head).toBe(30);
    expect(updates).toHaveLength(30);
  });

  it('fences a stale writer below a compaction, though the rows it would collide with are gone', async () => {
    const stale = openPostgresStore(db.sql, { node: 1 });
    const owner = openPostgresStore(other.sql, { node: 2 });
    for (let pos = 1; pos <= 5; pos++) await stale.appendAt('moved', update(`s${pos}`), pos);
    // The new owner loads, writes on, and compacts positions 1..10 away.
    const loaded = await owner.loadLog('moved');
    expect(loaded.head).toBe(5);
    const doc = new Y.Doc();
    for (const u of loaded.updates) Y.applyUpdate(doc, u);
    for (let pos = 6; pos <= 10; pos++) {
      const u = update(`o${pos}`);
      await owner.appendAt('moved', u, pos);
      Y.applyUpdate(doc, u);
    }
    await owner.compactTo('moved', Y.encodeStateAsUpdate(doc), 10);
    // The stale writer still believes the head is 5: position 6 is free in doc_log now.
    await expect(stale.appendAt('moved', update('late'), 6)).rejects.toMatchObject({
      code: 'FENCED',
    });
    await owner.appendAt('moved', update('o11'), 11);
    const after = await stale.loadLog('moved');
    expect(after.head).toBe(11);
    expect(after.updates).toHaveLength(2); // the snapshot, then position 11
    const copy = new Y.Doc();
    for (const u of after.updates) Y.applyUpdate(copy, u);
    expect(Object.keys(copy.getMap('messages').toJSON()).sort()).toEqual(
      ['o10', 'o11', 'o6', 'o7', 'o8', 'o9', 's1', 's2', 's3', 's4', 's5'].sort(),
    );
    // A compaction that an earlier one already covers changes nothing.
    await stale.compactTo('moved', update('stale state'), 8);
    expect((await stale.loadLog('moved')).updates).toHaveLength(2);
  });

  it('loads only what came after a head read earlier, a compaction past it as its snapshot', async () => {
    const owner = openPostgresStore(db.sql, { node: 1 });
    const reader = openPostgresStore(other.sql, { node: 2 });
    for (let pos = 1; pos <= 3; pos++) await owner.appendAt('tail', update(`t${pos}`), pos);
    const copy = new Y.Doc();
    const first = await reader.loadLog('tail');
    for (const u of first.updates) Y.applyUpdate(copy, u);
    expect(first.head).toBe(3);
    expect(await reader.loadLog('tail', 3)).toEqual({ updates: [], head: 3 });
    await owner.appendAt('tail', update('t4'), 4);
    const next = await reader.loadLog('tail', 3);
    expect(next.head).toBe(4);
    expect(next.updates).toHaveLength(1);
    for (const u of next.updates) Y.applyUpdate(copy, u);
    // The owner compacts 1..5 away: a copy at head 4 gets the snapshot (merged), then row 6.
    const full = new Y.Doc();
    for (const u of (await owner.loadLog('tail')).updates) Y.applyUpdate(full, u);
    const t5 = update('t5');
    await owner.appendAt('tail', t5, 5);
    Y.applyUpdate(full, t5);
    await owner.compactTo('tail', Y.encodeStateAsUpdate(full), 5);
    await owner.appendAt('tail', update('t6'), 6);
    const after = await reader.loadLog('tail', 4);
    expect(after.head).toBe(6);
    expect(after.updates).toHaveLength(2);
    for (const u of after.updates) Y.applyUpdate(copy, u);
    expect(Object.keys(copy.getMap('messages').toJSON()).sort()).toEqual([
      't1',
      't2',
      't3',
      't4',
      't5',
      't6',
    ]);
  });

  it('fences a stale append that waited on a compaction committing meanwhile', async () => {
    const stale = openPostgresStore(db.sql, { node: 1 });
    for (let pos = 1; pos <= 10; pos++) await stale.appendAt('racing', update(`s${pos}`), pos);
    // A compaction to 10 holds the snapshot row, its rows already deleted, not yet committed.
    const tx = await other.sql.reserve();
    try {
      await tx`BEGIN`;
      await tx`SELECT pos FROM doc_snapshot WHERE doc = 'racing' FOR UPDATE`;
      await tx`UPDATE doc_snapshot SET pos = 10, upd = ${Buffer.from(update('merged'))} WHERE doc = 'racing'`;
      await tx`DELETE FROM doc_log WHERE doc = 'racing' AND pos <= 10`;
      // The stale writer (head 5 in its view) appends at 6: it waits for the row lock...
      let settled = false;
      const late = stale.appendAt('racing', update('late'), 6).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(settled).toBe(false);
      await tx`COMMIT`;
      // ...and, rechecked against the committed snapshot, is refused: not written under it.
      await expect(late).rejects.toMatchObject({ code: 'FENCED' });
    } finally {
      tx.release();
    }
    expect(await db.sql`SELECT pos FROM doc_log WHERE doc = 'racing'`).toHaveLength(0);
  });

  it('commits the appends of one turn, of every document, together; a fenced one fails alone', async () => {
    const a = openPostgresStore(db.sql, { node: 1 });
    const b = openPostgresStore(other.sql, { node: 2 });
    await b.appendAt('batch-3', update('b1'), 1); // another writer took batch-3's position 1
    const docs = Array.from({ length: 10 }, (_, i) => `batch-${i}`);
    const first = await Promise.allSettled(docs.map((d) => a.appendAt(d, update(`${d}/1`), 1)));
    expect(first.map((r) => r.status)).toEqual(
      docs.map((d) => (d === 'batch-3' ? 'rejected' : 'fulfilled')),
    );
    expect(isFenced((first[3] as PromiseRejectedResult).reason)).toBe(true);
    // Then every document at position 2, batch-3 too (its log is at 1): one turn again.
    await Promise.all(docs.map((d) => a.appendAt(d, update(`${d}/2`), 2)));
    // Rows written by one transaction share its id (xmin): one commit per turn, not per row.
    const rows = await db.sql<{ doc: string; pos: string; node: number; tx: string }[]>`
      SELECT doc, pos, node, xmin::text AS tx FROM doc_log WHERE doc LIKE 'batch-%' ORDER BY doc, pos`;
    const byNode1 = rows.filter((r) => r.node === 1);
    expect(byNode1).toHaveLength(19);
    expect(new Set(byNode1.filter((r) => r.pos === '1').map((r) => r.tx)).size).toBe(1);
    expect(new Set(byNode1.filter((r) => r.pos === '2').map((r) => r.tx)).size).toBe(1);
    expect(rows.find((r) => r.doc === 'batch-3' && r.pos === '1')?.node).toBe(2);
    const copy = new Y.Doc();
    for (const u of (await b.loadLog('batch-3')).updates) Y.applyUpdate(copy, u);
    expect(Object.keys(copy.getMap('messages').toJSON()).sort()).toEqual(['b1', 'batch-3/2']);
  });

  it('refuses a second append at a position its own batch holds; takes 1 and 2 of a new document together', async () => {
    const a = openPostgresStore(db.sql, { node: 1 });
    // Two loads of one room in one process (an evicted one still writing) both append at 3.
    await a.appendAt('twice', update('t1'), 1);
    await a.appendAt('twice', update('t2'), 2);
    const results = await Promise.allSettled([
      a.appendAt('twice', update('first'), 3),
      a.appendAt('twice', update('second'), 3),
      a.appendAt('fresh', update('f1'), 1),
      a.appendAt('fresh', update('f2'), 2),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(isFenced((results[1] as PromiseRejectedResult).reason)).toBe(true);
    const doc = new Y.Doc();
    for (const u of (await a.loadLog('twice')).updates) Y.applyUpdate(doc, u);
    expect(Object.keys(doc.getMap('messages').toJSON()).sort()).toEqual(['first', 't1', 't2']);
    expect((await a.loadLog('fresh')).head).toBe(2);
  });

  it('does not hold other documents’ appends behind one waiting on a compaction', async () => {
    const a = openPostgresStore(db.sql, { node: 1 });
    await a.appendAt('locked', update('l1'), 1);
    await a.appendAt('free', update('f1'), 1);
    const tx = await other.sql.reserve();
    try {
      await tx`BEGIN`;
      await tx`SELECT pos FROM doc_snapshot WHERE doc = 'locked' FOR UPDATE`; // a compaction
      let waiting = true;
      const held = a.appendAt('locked', update('l2'), 2).finally(() => {
        waiting = false;
      });
      await new Promise((r) => setTimeout(r, 100));
      // The next turn's batch goes out beside the held one and commits.
      await a.appendAt('free', update('f2'), 2);
      expect(waiting).toBe(true);
      await tx`COMMIT`;
      await held;
    } finally {
      tx.release();
    }
    expect((await a.loadLog('locked')).head).toBe(2);
    expect((await a.loadLog('free')).head).toBe(2);
  });

  it('append() continues the stored head, and after a fence reads it again', async () => {
    const a = openPostgresStore(db.sql, { node: 1 });
    const b = openPostgresStore(other.sql, { node: 2 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => a.append('seq', update(`a${i}`))));
    await b.appendAt('seq', update('b'), 11);
    await expect(a.append('seq', update('lost'))).rejects.toMatchObject({ code: 'FENCED' });
    await a.append('seq', update('again'));
    const rows = await db.sql<{ pos: string; node: number }[]>`
      SELECT pos, node FROM doc_log WHERE doc = 'seq' ORDER BY pos`;
    expect(rows.map((r) => [Number(r.pos), r.node])).toEqual([
      ...Array.from({ length: 10 }, (_, i) => [i + 1, 1]),
      [11, 2],
      [12, 1],
    ]);
  });

  it('swapMeta writes only over the value it expects (inbox lists written by several nodes)', async () => {
    const a = openPostgresStore(db.sql, { node: 1 });
    const b = openPostgresStore(other.sql, { node: 2 });
    const key = `swap-${Math.random()}`;
    expect(await a.swapMeta(key, undefined, '{"v":1}')).toBe(true);
    expect(await b.swapMeta(key, undefined, '{"v":2}')).toBe(false);
    expect(await b.getMeta(key)).toBe('{"v":1}');
    expect(await b.swapMeta(key, '{"v":1}', '{"v":2}')).toBe(true);
    expect(await a.swapMeta(key, '{"v":1}', '{"v":3}')).toBe(false);
    expect(await a.getMeta(key)).toBe('{"v":2}');
    // Racing from the same value: exactly one wins.
    const won = await Promise.all([
      a.swapMeta(key, '{"v":2}', '{"v":"a"}'),
      b.swapMeta(key, '{"v":2}', '{"v":"b"}'),
    ]);
    expect(won.filter(Boolean)).toHaveLength(1);
  });
});

describe.skipIf(!hasEnv('DATABASE_URL'))(`a room's fenced store${needs('DATABASE_URL')}`, () => {
  it('merges a large log on the merge thread up to the head it read, and keeps the appends after it', async () => {
    const db = await fresh();
    const store = openPostgresStore(db.sql, { node: 1 });
    const merger = mergeThread();
    try {
      const room = fencedRoomStore(store, 'group_big' as DocName, merger);
      expect(await room.load('group_big')).toEqual([]);
      const doc = new Y.Doc();
      const messages = doc.getMap<{ content: string }>('messages');
      const appends: Promise<void>[] = [];
      // One at a time, in order, as a room appends (each at the head it moved to).
      let chain = Promise.resolve();
      doc.on('update', (u: Uint8Array) => {
        chain = chain.then(() => room.append('group_big', u));
        appends.push(chain);
      });
      const secret = 'recalled content that must leave the disk';
      messages.set('recalled', { content: secret });
      for (let i = 0; i < 40; i++) messages.set(`m${i}`, { content: 'x'.repeat(1000) });
      messages.set('recalled', { content: '' });
      await Promise.all(appends);
      let encoded = false;
      const compacted = room.compact('group_big', {
        bytes: 2 << 20, // over the size taken from the caller: replayed from the log instead
        encode: () => {
          encoded = true;
          return { update: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) };
        },
      });
      messages.set('after', { content: 'written while the merge ran' });
      await Promise.all([compacted, ...appends]);
      expect(encoded).toBe(false);
      const log = await store.loadLog('group_big');
      const text = Buffer.concat(log.updates.map((u) => Buffer.from(u))).toString('utf8');
      expect(text).not.toContain(secret);
      expect(log.updates.length).toBeLessThanOrEqual(2); // the snapshot, and maybe 'after'
      const copy = new Y.Doc();
      for (const u of log.updates) Y.applyUpdate(copy, u);
      expect(copy.getMap('messages').toJSON()).toEqual(messages.toJSON());
    } finally {
      await merger.close();
      await store.close();
      await db.close();
    }
  });
});
