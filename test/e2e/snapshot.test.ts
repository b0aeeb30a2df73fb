/**
 * The snapshot tables after a scripted chat over the sync protocol (messages, a recall, a group
 * with a role change and a removal, reads): every row and column equals what the documents say,
 * and every domain event is there once. Runs on the embedded PGlite, or on the real Postgres
 * when DATABASE_URL is set (`.ci/run` does both).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { checkSnapshot } from '../../server/projector/check.js';
import { MemberRole } from '../../shared/enums.js';
import { DATABASE_URL, startSnapshotServer } from '../db.js';
import { id, sdkClient, type TestServer, waitFor } from '../helpers.js';

let ts: TestServer;
const clients: Client[] = [];

beforeAll(async () => {
  ts = await startSnapshotServer({ PROJECTOR_DEBOUNCE_MS: '20', PROJECTOR_MAX_DELAY_MS: '200' });
}, 60_000);
afterAll(async () => {
  for (const c of clients) await c.close();
  await ts.close();
});

async function client(who: string): Promise<Client> {
  const c = await sdkClient(ts.httpUrl, who, { maxBackoffMs: 100 });
  clients.push(c);
  return c;
}

it(`projects a scripted chat exactly (${DATABASE_URL ? 'Postgres' : 'PGlite'})`, async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  const a = await alice.openPrivate('bob');
  const b = await bob.openPrivate('alice');
  await a.whenSynced();
  await b.whenSynced();
  // One after the other, so the seq order the assertions below count on is not a race between
  // two sockets.
  const stamped = (c: typeof a, n: number) => () =>
    c.messages().length === n && c.messages().every((m) => !m.pending);
  const hello = await a.send({ content: 'hello bob' });
  await waitFor(stamped(b, 1), 5000, 'hello stamped');
  await b.send({ content: 'hi alice' });
  await waitFor(stamped(a, 2), 5000, 'hi stamped');
  await a.send({ content: 'how are you?' });
  await waitFor(
    () => a.messages().length === 3 && a.messages().every((m) => !m.pending),
    5000,
    'stamped',
  );
  await a.recall(hello.key);
  await waitFor(
    () => b.messages().find((m) => m.key === hello.key)?.recalled !== undefined,
    5000,
    'recalled',
  );
  await b.markRead(2);

  const o = await alice.createGroup({
    name: 'crew',
    members: ['bob', 'carol', 'dave'].map((m) => ({ identity: m, identityType: 1 })),
  });
  await waitFor(() => o.doc.getMap('meta').has('conversationId'), 5000, 'group created');
  await o.setRole(id('bob'), MemberRole.Admin);
  await o.send({ content: 'welcome' });
  await o.remove(id('dave'));
  const g = await bob.open(o.key);
  await g.whenSynced();
  await g.send({ content: 'thanks' });
  await waitFor(
    () =>
      g.messages().filter((m) => !m.system).length === 2 && g.messages().every((m) => !m.pending),
    5000,
    'group messages',
  );
  await g.markRead();
  await waitFor(
    () =>
      o.pendingIntents().length === 0 &&
      g.pendingIntents().length === 0 &&
      b.pendingIntents().length === 0,
    5000,
    'all confirmed',
  );

  const projector = ts.server.projector!;
  await waitFor(() => projector.pending === 0, 10_000, 'projected');
  await projector.flush();
  const sql = ts.server.db!.sql;
  for (const key of [a.key, o.key]) {
    const { doc, release } = await ts.server.rooms.borrow(key);
    try {
      expect(await checkSnapshot(sql, doc)).toEqual([]);
    } finally {
      release();
    }
  }
  // A few values spelled out, beyond the checker's own derivations.
  const [privateRow] = await sql`SELECT * FROM t_conversation WHERE conversation_key = ${a.key}`;
  expect(privateRow).toMatchObject({
    conversation_type: 'private',
    first_identity_id: 'alice',
    second_identity_id: 'bob',
    current_member_count: 2,
  });
  // alice read nothing: bob's one message is unread; bob read up to seq 2: one of alice's is left.
  expect(Number(privateRow!.first_identity_unread_count)).toBe(1);
  expect(Number(privateRow!.second_identity_unread_count)).toBe(1);
  const recalled =
    await sql`SELECT content, is_recalled, recall_time FROM t_msg_body WHERE client_message_key = ${hello.key}`;
  expect(recalled[0]).toMatchObject({ content: null, is_recalled: true });
  const members =
    await sql`SELECT identity_id, member_role, member_status, exit_time FROM t_conversation_member m JOIN t_conversation c USING (conversation_id) WHERE c.conversation_key = ${o.key} ORDER BY identity_id`;
  expect(members.map((m) => [m.identity_id, m.member_role, m.member_status])).toEqual([
    ['alice', 3, 1],
    ['bob', 2, 1],
    ['carol', 1, 1],
    ['dave', 1, 2],
  ]);
  const events = await sql<
    { event_type: string; n: string }[]
  >`SELECT event_type, count(*) AS n FROM t_domain_event GROUP BY event_type ORDER BY event_type`;
  const count = Object.fromEntries(events.map((e) => [e.event_type, Number(e.n)]));
  expect(count).toMatchObject({
    ConversationCreated: 2,
    IMMessageSent: 5,
    MessageRecalled: 1,
    MemberExited: 1,
  });
  expect(count.MemberJoined).toBe(6);
  // Prometheus sees the same.
  const metrics = await (await fetch(`${ts.httpUrl}/metrics`)).text();
  expect(metrics).toMatch(/convosync_messages_accepted_total 5/);
  expect(metrics).toMatch(/convosync_projection_lag_seconds 0/);
}, 60_000);
