/**
 * @module DocStore on Postgres, fenced (fenced.ts): the durable log every node of a cluster
 * shares (tables in db/migrations/005_cluster.sql). LevelDB stays the single-node default.
 *
 * - `appendAt` inserts at the caller's position under PRIMARY KEY (doc, pos), and only while the
 *   document's snapshot row lies below it: a taken position and a position a compaction already
 *   covers both answer FENCED. The appends of one event-loop turn, of every document, are one
 *   statement and one commit (group commit). Without the second check a stale writer could insert a
 *   row that a compaction had just deleted, below the snapshot, where nobody would ever read it,
 *   and acknowledge it. The row is read FOR SHARE: an append racing a compaction waits for it
 *   and is checked against the snapshot it committed (a plain read would see the old one).
 * - `append` (the single-node seam) keeps each document's head in memory and appends at head+1,
 *   one document's writes in order; a fence drops the cached head and rejects.
 * - `loadLog` reads the snapshot and the rows after it in one statement, so a compaction that
 *   commits meanwhile cannot make it skip rows.
 */
import * as Y from 'yjs';
import { ConvosyncError } from '../../shared/errors.js';
import type { Sql } from '../db/connect.js';
import type { FencedDocStore, LoadedLog, LogPosition } from './fenced.js';
import { type BatchStats, GroupCommit } from './group-commit.js';

export interface PostgresStoreOptions {
  /** The writer's node slot, recorded in every row it appends. */
  node: number;
  /** Called by `close()` after the store stopped (e.g. to end a pool the store was given). */
  onClose?: () => Promise<void>;
  /** Told about every batch of appends written (metrics). */
  onBatch?: (stats: BatchStats) => void;
}

const bytes = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

interface Append {
  name: string;
  update: Uint8Array;
  pos: LogPosition;
}

const fenced = (name: string, pos: LogPosition) =>
  new ConvosyncError('FENCED', `${name}: position ${pos} is taken or compacted`);

/** Postgres chose this transaction to break a deadlock: nothing of it was written. */
const DEADLOCK_DETECTED = '40P01';
/** Append batches in flight at once (each takes a connection of the pool while it runs). */
const APPENDS_IN_FLIGHT = 4;
const DEADLOCK_RETRIES = 3;

/**
 * Inserts `batch` in one transaction; FENCED for each append whose position is taken or lies at
 * or below its document's compaction, and for a second append at a position the same batch
 * already holds (one process, two loads of one room). The snapshot rows are read FOR SHARE: an
 * append racing a compaction waits for it and is checked against the snapshot it committed.
 * Rows go in (doc, pos) order, so two nodes' batches that meet on the same documents (a
 * conversation changing hands) take their locks in one order; a deadlock Postgres breaks anyway
 * wrote nothing, and the batch is sent again.
 */
async function appendBatch(
  sql: Sql,
  node: number,
  batch: readonly Append[],
): Promise<(Error | undefined)[]> {
  const keys = batch.map((a) => `${a.pos} ${a.name}`);
  const unique = new Map<string, Append>();
  batch.forEach((a, i) => {
    if (!unique.has(keys[i]!)) unique.set(keys[i]!, a);
  });
  const rows = [...unique.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.pos - b.pos,
  );
  const insert = (q: Sql) => q<{ doc: string; pos: string }[]>`
    INSERT INTO doc_log (doc, pos, node, upd)
    SELECT s.doc, a.pos, ${node}::int, a.upd
    FROM unnest(${sql.array(rows.map((a) => a.name))}::text[],
                ${sql.array(rows.map((a) => a.pos))}::bigint[],
                ${sql.array(rows.map((a) => bytes(a.update)))}::bytea[])
         WITH ORDINALITY AS a(doc, pos, upd, n)
    JOIN doc_snapshot s ON s.doc = a.doc AND s.pos < a.pos
    ORDER BY a.n
    FOR SHARE OF s
    ON CONFLICT (doc, pos) DO NOTHING
    RETURNING doc, pos`;
  const first = rows.filter((a) => a.pos === 1).map((a) => a.name); // unique: one (doc, 1) each
  const attempt = () =>
    first.length > 0
      ? sql.begin(async (tx) => {
          // A document's first append creates its snapshot row (position 0, no state).
          await tx`INSERT INTO doc_snapshot (doc, pos, upd, updated_at)
                   SELECT doc, 0, NULL, ${Date.now()} FROM unnest(${sql.array(first)}::text[]) AS f(doc)
                   ON CONFLICT DO NOTHING`;
          return insert(tx as unknown as Sql);
        })
      : insert(sql);
  let written: { doc: string; pos: string }[] | undefined;
  for (let tries = 1; !written; tries++) {
    try {
      written = await attempt();
    } catch (error) {
      if ((error as { code?: string }).code !== DEADLOCK_DETECTED || tries >= DEADLOCK_RETRIES)
        throw error;
    }
  }
  const inserted = new Set(written.map((r) => `${r.pos} ${r.doc}`));
  return batch.map((a, i) =>
    unique.get(keys[i]!) === a && inserted.has(keys[i]!) ? undefined : fenced(a.name, a.pos),
  );
}

export function openPostgresStore(sql: Sql, options: PostgresStoreOptions): FencedDocStore {
  let open = true;
  /** The head of each document this store appended to via `append` (not `appendAt`). */
  const heads = new Map<string, LogPosition>();
  /** Per document, the tail of its chain of `append`/`compact` calls: they run in order. */
  const queues = new Map<string, Promise<unknown>>();

  const check = () => {
    if (!open) throw new Error('Postgres store is closed');
  };

  const inOrder = <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const previous = queues.get(name) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    queues.set(name, tail);
    void tail.then(() => {
      if (queues.get(name) === tail) queues.delete(name);
    });
    return next;
  };

  /**
   * Appends of every document in one event-loop turn go to Postgres as one statement and one
   * commit (group-commit.ts): one WAL flush for all of them instead of one each. Each row is
   * inserted only while its document's snapshot row lies below it, and a taken position is
   * skipped (ON CONFLICT DO NOTHING) rather than failing the statement, so a fenced append
   * fails alone and the others in its batch commit.
   */
  const appends = new GroupCommit<Append>(
    (batch) => appendBatch(sql, options.node, batch),
    options.onBatch,
    // A batch waiting on one document's compaction (its snapshot row locked) must not hold up
    // every other document's appends: a few batches may be in flight at once.
    APPENDS_IN_FLIGHT,
  );

  const appendAt = async (name: string, update: Uint8Array, pos: LogPosition): Promise<void> => {
    check();
    if (!Number.isSafeInteger(pos) || pos < 1) throw new Error(`bad log position ${pos}`);
    await appends.write({ name, update, pos });
  };

  const loadLog = async (name: string, after: LogPosition = 0): Promise<LoadedLog> => {
    check();
    const rows = await sql<{ pos: string; upd: Buffer | null }[]>`
      WITH s AS (SELECT pos, upd FROM doc_snapshot WHERE doc = ${name})
      SELECT 0 AS part, pos, upd FROM s WHERE s.pos > ${after}::bigint
      UNION ALL
      SELECT 1 AS part, l.pos, l.upd FROM doc_log l
      WHERE l.doc = ${name} AND l.pos > GREATEST(COALESCE((SELECT pos FROM s), 0), ${after}::bigint)
      ORDER BY part, pos`;
    const updates: Uint8Array[] = [];
    let head = after;
    for (const row of rows) {
      if (row.upd) updates.push(row.upd);
      head = Number(row.pos);
    }
    return { updates, head };
  };

  const readHead = async (name: string): Promise<LogPosition> => {
    const [row] = await sql<{ head: string }[]>`
      SELECT COALESCE((SELECT max(pos) FROM doc_log WHERE doc = ${name}),
                      (SELECT pos FROM doc_snapshot WHERE doc = ${name}), 0) AS head`;
    return Number(row!.head);
  };

  const compactTo = async (
    name: string,
    snapshot: Uint8Array,
    upto: LogPosition,
  ): Promise<void> => {
    check();
    await sql.begin(async (tx) => {
      const [row] = await tx<{ pos: string }[]>`
        SELECT pos FROM doc_snapshot WHERE doc = ${name} FOR UPDATE`;
      if (!row || Number(row.pos) >= upto) return;
      await tx`UPDATE doc_snapshot SET pos = ${upto}, upd = ${bytes(snapshot)}, updated_at = ${Date.now()}
               WHERE doc = ${name}`;
      await tx`DELETE FROM doc_log WHERE doc = ${name} AND pos <= ${upto}`;
    });
  };

  /** Merges everything stored into the snapshot (the single-node `compact`). */
  const compactAll = async (name: string): Promise<void> => {
    check();
    await sql.begin(async (tx) => {
      // Locked first: appends wait, and the rows read next are all there is up to the head.
      const [row] = await tx<{ pos: string; upd: Buffer | null }[]>`
        SELECT pos, upd FROM doc_snapshot WHERE doc = ${name} FOR UPDATE`;
      if (!row) return;
      const rows = await tx<{ pos: string; upd: Buffer }[]>`
        SELECT pos, upd FROM doc_log WHERE doc = ${name} AND pos > ${row.pos} ORDER BY pos`;
      if (rows.length + (row.upd ? 1 : 0) < 2) return;
      const doc = new Y.Doc({ guid: name });
      doc.transact(() => {
        if (row.upd) Y.applyUpdate(doc, row.upd);
        for (const r of rows) Y.applyUpdate(doc, r.upd);
      });
      const merged = Y.encodeStateAsUpdate(doc);
      doc.destroy();
      const upto = rows.at(-1)!.pos;
      await tx`UPDATE doc_snapshot SET pos = ${upto}, upd = ${bytes(merged)}, updated_at = ${Date.now()}
               WHERE doc = ${name}`;
      await tx`DELETE FROM doc_log WHERE doc = ${name} AND pos <= ${upto}`;
    });
  };

  return {
    loadLog,
    appendAt,
    compactTo,
    load: async (name) => (await loadLog(name)).updates,
    append: async (name, update) => {
      check();
      return inOrder(name, async () => {
        const head = heads.get(name) ?? (await readHead(name));
        try {
          await appendAt(name, update, head + 1);
          heads.set(name, head + 1);
        } catch (error) {
          heads.delete(name); // read again next time: another writer moved it, or it is unknown
          throw error;
        }
      });
    },
    compact: async (name) => {
      check();
      return inOrder(name, () => compactAll(name));
    },
    list: async () => {
      check();
      const rows = await sql<{ doc: string }[]>`SELECT doc FROM doc_snapshot ORDER BY doc`;
      return rows.map((r) => r.doc);
    },
    stateVector: async (name) => {
      const { updates } = await loadLog(name);
      const doc = new Y.Doc({ guid: name });
      doc.transact(() => {
        for (const u of updates) Y.applyUpdate(doc, u);
      });
      const sv = Y.encodeStateVector(doc);
      doc.destroy();
      return sv;
    },
    getMeta: async (key) => {
      check();
      const [row] = await sql<
        { value: unknown }[]
      >`SELECT value FROM server_meta WHERE key = ${key}`;
      return row?.value;
    },
    swapMeta: async (key, expected, value) => {
      check();
      const rows =
        expected === undefined
          ? await sql`INSERT INTO server_meta (key, value) VALUES (${key}, ${sql.json(value)})
                      ON CONFLICT (key) DO NOTHING RETURNING key`
          : await sql`UPDATE server_meta SET value = ${sql.json(value)}
                      WHERE key = ${key} AND value = ${sql.json(expected)} RETURNING key`;
      return rows.length === 1;
    },
    setMeta: async (key, value) => {
      check();
      await sql`INSERT INTO server_meta (key, value) VALUES (${key}, ${sql.json(value)})
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`;
    },
    get isOpen() {
      return open;
    },
    close: async () => {
      if (!open) return;
      open = false;
      await Promise.all([...queues.values()]);
      await appends.settled();
      await options.onClose?.();
    },
  };
}
