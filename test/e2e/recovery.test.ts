/**
 * Recovery from rejections with the SDK, end to end: honest races end with every valid intent
 * delivered, the invalid one reported (an `error` event naming the intent), and all replicas
 * converged; a client is never left stuck. The server clock is the test's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client, Conversation, ConvosyncError } from '../../client/index.js';
import type { Intent } from '../../client/intents.js';
import { MemberRole, MemberStatus } from '../../shared/enums.js';
import { conversationRoots } from '../../shared/schema.js';
import { id, sdkClient, startTestServer, type TestServer, waitFor } from '../helpers.js';

let ts: TestServer;
let skew = 0;
const clients: Client[] = [];

beforeAll(async () => {
  ts = await startTestServer({ overrides: { now: () => Date.now() + skew } });
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await ts.close();
});

async function client(who: string): Promise<Client> {
  const c = await sdkClient(ts.httpUrl, who, { maxBackoffMs: 100 });
  clients.push(c);
  return c;
}

function errors(conversation: Conversation): Array<{ code: string; intent?: Intent }> {
  const seen: Array<{ code: string; intent?: Intent }> = [];
  conversation.on('error', (error: ConvosyncError, { intent }) =>
    seen.push({ code: error.code, ...(intent ? { intent } : {}) }),
  );
  return seen;
}

// System messages (joins, role changes) are the server's; these tests follow what members send.
const sent = (c: Conversation) => c.messages().filter((m) => !m.system);
const contents = (c: Conversation) =>
  sent(c).map(
    (m) => `${m.content}${m.recalled ? ' (recalled)' : ''}${m.pending ? ' (pending)' : ''}`,
  );
const settled = (c: Conversation, n: number) =>
  sent(c).length === n && c.messages().every((m) => !m.pending);

it('a recall that arrives after the window is reported; the other offline messages are delivered', async () => {
  skew = 0;
  const alice = await client('alice');
  const bob = await client('bob');
  const a = await alice.openPrivate('bob');
  const b = await bob.openPrivate('alice');
  await a.whenSynced();
  const first = await a.send({ content: 'first' });
  await waitFor(() => settled(a, 1), 5000, 'first stamped');
  const seen = errors(a);

  alice.goOffline();
  await a.recall(first.key); // within the window by the device's clock
  await a.send({ content: 'second' });
  await a.send({ content: 'third' });
  skew = 3 * 60_000; // ...but the network only returns three minutes later (server time)
  alice.goOnline();

  await waitFor(() => settled(b, 3) && settled(a, 3), 10_000, 'converged');
  expect(contents(b)).toEqual(['first', 'second', 'third']);
  expect(contents(a)).toEqual(contents(b));
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({
    code: 'RECALL_WINDOW_PASSED',
    intent: { kind: 'recall', target: first.key },
  });
  // The refused recall is not left pending (a delivery position alice's device just wrote may
  // still be on its way: it goes once acknowledged).
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'no intent pending');
  // Not stuck: the next message goes through.
  await a.send({ content: 'after recovery' });
  await waitFor(() => settled(b, 4), 5000, 'after recovery');
});

it("a demoted admin's offline removal is reported; its offline message is delivered", async () => {
  skew = 0;
  const olga = await client('olga');
  const adam = await client('adam');
  const mia = await client('mia');
  const o = await olga.createGroup({
    name: 'crew',
    members: ['adam', 'mia'].map((m) => ({ identity: m, identityType: 1 })),
  });
  await o.whenSynced();
  await waitFor(() => conversationRoots(o.doc).meta.has('conversationId'), 5000, 'group accepted');
  await o.setRole(id('adam'), MemberRole.Admin);
  const ad = await adam.open(o.key);
  await ad.whenSynced();
  await waitFor(
    () => conversationRoots(ad.doc).members.get('adam')?.role === MemberRole.Admin,
    5000,
    'adam admin',
  );
  const m = await mia.open(o.key);
  await m.whenSynced();
  const seen = errors(ad);

  adam.goOffline();
  await ad.remove(id('mia')); // allowed for an admin, as far as adam knows
  await ad.send({ content: 'housekeeping done' });
  await o.setRole(id('adam'), MemberRole.Member); // meanwhile, olga demotes adam
  await waitFor(() => o.pendingIntents().length === 0, 5000, 'demotion accepted');
  adam.goOnline();

  await waitFor(
    () => [o, ad, m].every((c) => settled(c, 1)),
    10_000,
    'message delivered everywhere',
  );
  expect(contents(m)).toEqual(['housekeeping done']);
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({
    code: 'ROLE_FORBIDDEN',
    intent: { kind: 'remove', identity: 'mia' },
  });
  for (const c of [o, ad, m]) {
    expect(conversationRoots(c.doc).members.get('mia')?.status).toBe(MemberStatus.Active);
    expect(conversationRoots(c.doc).members.get('adam')?.role).toBe(MemberRole.Member);
  }
});

it('a forged write is refused locally as an intent, and by the server when written around the SDK', async () => {
  skew = 0;
  const carl = await client('carl');
  const dana = await client('dana');
  const c = await carl.openPrivate('dana');
  const d = await dana.openPrivate('carl');
  await c.whenSynced();
  await d.whenSynced();
  const seen = errors(c);

  // Through the SDK: the shared rules refuse it before anything is written or sent.
  const forgedIntent = {
    kind: 'send' as const,
    id: 'f'.repeat(32) as never,
    createdAt: Date.now(),
    message: {
      key: 'f'.repeat(32) as never,
      sender: id('dana'),
      senderType: 1,
      format: 0 as const,
      content: 'forged',
      sentAt: Date.now(),
    },
  };
  await expect(c.act(forgedIntent)).rejects.toMatchObject({ code: 'NOT_SENDER' });
  expect(c.pendingIntents()).toHaveLength(0);

  // Around the SDK (an app bug or a tampered client): the server rejects, the SDK resets.
  carl.goOffline();
  const forgedKey = 'e'.repeat(32);
  conversationRoots(c.doc).messages.set(forgedKey, {
    ...forgedIntent.message,
    key: forgedKey as never,
  });
  await c.send({ content: 'legit' });
  carl.goOnline();

  await waitFor(() => settled(d, 1) && settled(c, 1), 10_000, 'legit delivered');
  expect(contents(d)).toEqual(['legit']);
  expect(contents(c)).toEqual(['legit']);
  expect(seen.map((e) => e.code)).toEqual(['NOT_SENDER']);
  expect(seen[0]!.intent).toBeUndefined(); // it was not one of the app's intents
});

it('two devices of one identity move the read position offline without conflict', async () => {
  skew = 0;
  const phone = await client('erin');
  const laptop = await client('erin');
  const frank = await client('frank');
  const f = await frank.openPrivate('erin');
  await f.whenSynced();
  for (const text of ['one', 'two', 'three']) await f.send({ content: text });
  const p = await phone.openPrivate('frank');
  const l = await laptop.openPrivate('frank');
  await waitFor(() => settled(p, 3) && settled(l, 3), 5000, 'both devices have the messages');
  const seen = [...errors(p), ...errors(l)];

  phone.goOffline();
  laptop.goOffline();
  await p.markRead(3);
  await l.markRead(2);
  phone.goOnline();
  laptop.goOnline();

  await waitFor(
    () => [p, l, f].every((c) => c.readPosition(id('erin')) === 3),
    10_000,
    'read position 3 everywhere',
  );
  await waitFor(
    () => p.pendingIntents().length === 0 && l.pendingIntents().length === 0,
    5000,
    'reads confirmed',
  );
  expect(seen).toEqual([]);
});
