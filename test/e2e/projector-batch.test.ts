/**
 * The projector under a stream of changes to several documents: a pass takes every changed
 * document along, due or not (one transaction instead of one per document as each falls due),
 * and its statements keep one text whatever the number of rows, so the database holds one
 * prepared statement per statement, not one per row count.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { MessageFormat } from '../../shared/enums.js';
import { newMessageKey } from '../../shared/ids.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import { DATABASE_URL, startSnapshotServer } from '../db.js';
import { id, sdkClient, syncPeer, type TestServer, waitFor } from '../helpers.js';

let ts: TestServer;
const clients: Client[] = [];

beforeAll(async () => {
  // A long debounce: a document changed later than another is not due when the other is.
  ts = await startSnapshotServer({ PROJECTOR_DEBOUNCE_MS: '1500', PROJECTOR_MAX_DELAY_MS: '1500' });
}, 120_000);
afterAll(async () => {
  for (const c of clients) await c.close();
  await ts.close();
});

async function client(who: string): Promise<Client> {
  const c = await sdkClient(ts.httpUrl, who, { maxBackoffMs: 100 });
  clients.push(c);
  return c;
}

const projectedAt = async (doc: string): Promise<string | undefined> => {
  const sql = ts.server.db!.sql;
  const rows = await sql<{ projected_at: string }[]>`
    SELECT projected_at FROM t_projection_cursor WHERE doc_name = ${doc}`;
  return rows[0] ? String(rows[0].projected_at) : undefined;
};

it('projects a changed document along with one that fell due, in one pass', async () => {
  // Raw sync sockets: nothing here calls REST, which flushes the projector (all at once).
  const toBob = privateKey(id('alice'), id('bob'));
  const toCarol = privateKey(id('alice'), id('carol'));
  const peers = [await syncPeer(ts, toBob, 'alice'), await syncPeer(ts, toCarol, 'alice')];
  for (const p of peers)
    await waitFor(() => conversationRoots(p.doc).meta.has('conversationId'), 5000, 'genesis');
  await ts.server.projector!.flush();
  const send = async (peer: (typeof peers)[number], content: string) => {
    const message: Message = {
      key: newMessageKey(),
      sender: id('alice'),
      senderType: 1,
      format: MessageFormat.Text,
      content,
      sentAt: Date.now(),
    };
    peer.change((doc) => conversationRoots(doc).messages.set(message.key, message));
    await waitFor(() => conversationRoots(peer.doc).stamps.has(message.key), 5000, 'stamped');
  };
  await send(peers[0]!, 'first');
  // Changed later: due later than bob's chat, by about this long.
  await new Promise((r) => setTimeout(r, 700));
  await send(peers[1]!, 'second');
  const before = await projectedAt(toBob);
  // (waitFor takes a synchronous check; the cursor is read from the database.)
  for (let tries = 0; (await projectedAt(toBob)) === before; tries++) {
    if (tries > 500) throw new Error('bob was not projected after the message');
    await new Promise((r) => setTimeout(r, 20));
  }
  // carol's chat, not due yet when bob's was, went in the same transaction (same time stamp).
  expect(await projectedAt(toCarol)).toBe(await projectedAt(toBob));
  for (const p of peers) p.close();
});

it.skipIf(DATABASE_URL !== undefined)(
  'prepares each statement once, whatever the number of rows (PGlite: one session)',
  async () => {
    const writer = await client('dave');
    const chats = await Promise.all(['erin', 'frank', 'grace'].map((to) => writer.openPrivate(to)));
    for (const c of chats) await c.whenSynced();
    /** The database's prepared statements that write `table`, by text. */
    const writes = async (table: string) =>
      (
        await ts.server.db!.sql<{ statement: string }[]>`
        SELECT statement FROM pg_prepared_statements`
      )
        .map((r) => r.statement.replace(/\s+/g, ' ').trim())
        .filter((text) => text.startsWith(`INSERT INTO ${table} `));
    // Waves of different sizes: a different number of documents, messages and events each.
    for (let wave = 1; wave <= 4; wave++) {
      for (const [i, chat] of chats.slice(0, 1 + (wave % 3)).entries())
        for (let m = 0; m <= wave + i; m++) await chat.send({ content: `wave ${wave} #${m}` });
      await waitFor(
        () => chats.every((c) => c.messages().every((m) => !m.pending)),
        10_000,
        'stamped',
      );
      await ts.server.projector!.flush();
    }
    // One statement per table, however many rows each pass wrote.
    for (const table of ['t_conversation', 't_msg_body', 't_domain_event', 't_projection_cursor'])
      expect(await writes(table), table).toHaveLength(1);
  },
);
