/**
 * The intent contract (README "The intent contract") end to end, through the SDK and a real
 * server: every offline intent settles exactly once, accepted, refused with its reason, or
 * superseded; none stays pending once the device is connected; none is inverted by a replay.
 * One test per defect of issue 11.
 */
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Client, Conversation, ConvosyncError } from '../../client/index.js';
import type { Intent } from '../../client/intents.js';
import type { Outcome } from '../../client/outbox.js';
import { MemberRole, MemberStatus } from '../../shared/enums.js';
import { conversationRoots } from '../../shared/schema.js';
import { id, serverWithClients, waitFor } from '../helpers.js';

const env = serverWithClients();
const client = (who: string) => env.client(who, { maxBackoffMs: 100 });

/** Every intent outcome and every error a conversation reports. */
function watch(c: Conversation) {
  const outcomes: Array<{ kind: string; status: string; code?: string }> = [];
  const errors: Array<{ code: string; intent?: Intent }> = [];
  c.on('intent', (intent: Intent, outcome: Outcome) =>
    outcomes.push({
      kind: intent.kind,
      status: outcome.status,
      ...(outcome.status === 'refused' ? { code: outcome.error.code } : {}),
    }),
  );
  c.on('error', (error: ConvosyncError, { intent }) =>
    errors.push({ code: error.code, ...(intent ? { intent } : {}) }),
  );
  return { outcomes, errors };
}

const member = (c: Conversation, who: string) => conversationRoots(c.doc).members.get(who);
const texts = (c: Conversation) =>
  c.messages().map((m) => `${m.content}${m.pending ? ' (pending)' : ''}`);

async function group(owner: Client, members: string[]): Promise<Conversation> {
  const g = await owner.createGroup({
    name: 'team',
    members: members.map((m) => ({ identity: m, identityType: 1 })),
  });
  await waitFor(() => g.doc.getMap('meta').has('conversationId'), 5000, 'group created');
  await waitFor(() => g.pendingIntents().length === 0, 5000, 'genesis confirmed');
  return g;
}

async function open(who: Client, key: string): Promise<Conversation> {
  const c = await who.open(key);
  await c.whenSynced();
  return c;
}

it('#1 an offline exit, and the farewell in its batch, are confirmed on the exiting device', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  const a = await group(alice, ['bob']);
  const b = await open(bob, a.key);
  const seen = watch(b);
  bob.goOffline();
  await b.send({ content: 'bye' });
  await b.exit();
  bob.goOnline();
  await waitFor(() => member(a, 'bob')?.status === MemberStatus.Exited, 5000, 'exit at alice');
  await waitFor(() => b.pendingIntents().length === 0, 5000, 'exit confirmed at bob');
  expect(seen.outcomes).toEqual([
    { kind: 'send', status: 'accepted' },
    { kind: 'exit', status: 'accepted' },
  ]);
  expect(texts(b)).toContain('bye');
  expect(texts(b)).not.toContain('bye (pending)');
});

it('#2 a removed member’s queued intents are reported as refused with NOT_MEMBER, not left pending', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  const a = await group(alice, ['bob']);
  const b = await open(bob, a.key);
  const seen = watch(b);
  bob.goOffline();
  await b.send({ content: 'one' });
  await b.updateInfo({ name: 'mine' }).catch(() => undefined); // refused locally: not an admin
  await b.send({ content: 'two' });
  await a.remove(id('bob'));
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'removal confirmed');
  bob.goOnline();
  await waitFor(() => b.pendingIntents().length === 0, 5000, 'queue reported');
  expect(seen.outcomes).toEqual([
    { kind: 'send', status: 'refused', code: 'NOT_MEMBER' },
    { kind: 'send', status: 'refused', code: 'NOT_MEMBER' },
  ]);
  // Access is lost until the app reconnects: new intents are refused at once, not queued.
  await expect(b.send({ content: 'three' })).rejects.toMatchObject({ code: 'NOT_MEMBER' });
  expect(b.pendingIntents()).toHaveLength(0);
});

it('#3 a replay after a reset keeps the order of offline role changes (demote, promote)', async () => {
  const alice = await client('alice');
  const alice2 = await client('alice');
  const carol = await client('carol');
  const a = await group(alice, ['bob', 'carol']);
  await a.setRole(id('bob'), MemberRole.Admin);
  const a2 = await open(alice2, a.key);
  const c = await open(carol, a.key);
  await waitFor(() => member(a2, 'bob')?.role === MemberRole.Admin, 5000, 'bob admin');
  const seen = watch(a);
  alice.goOffline();
  await a.updateInfo({ name: 'offline name' });
  await a.setRole(id('bob'), MemberRole.Member);
  await a.setRole(id('bob'), MemberRole.Admin);
  await a2.updateInfo({ name: 'online name' }); // the other device wins the race on the name
  await waitFor(() => a2.pendingIntents().length === 0, 5000, 'rename confirmed');
  alice.goOnline();
  await waitFor(() => a.pendingIntents().length === 0, 10_000, 'replayed and confirmed');
  await waitFor(
    () => c.doc.getMap('meta').get('name') === 'offline name',
    5000,
    'the replayed rename reached carol',
  );
  expect(member(c, 'bob')?.role).toBe(MemberRole.Admin);
  expect(member(a, 'bob')?.role).toBe(MemberRole.Admin);
  expect(seen.outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted']);
});

it('#3 two read marks at the same seq, then a reset: one accepted, one superseded, none pending', async () => {
  const alice = await client('alice');
  const alice2 = await client('alice');
  const a = await group(alice, ['bob']);
  const a2 = await open(alice2, a.key);
  await a.send({ content: 'hello' });
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'hello stamped');
  const seen = watch(a);
  alice.goOffline();
  await a.markRead();
  await a.markRead();
  await a.updateInfo({ name: 'offline name' });
  await a2.updateInfo({ name: 'online name' }); // forces a reset of the offline device
  await waitFor(() => a2.pendingIntents().length === 0, 5000, 'rename confirmed');
  alice.goOnline();
  await waitFor(() => a.pendingIntents().length === 0, 10_000, 'nothing pending');
  expect(seen.outcomes.map((o) => `${o.kind} ${o.status}`).sort()).toEqual([
    'read accepted',
    'read superseded',
    'updateInfo accepted',
  ]);
});

it('#4 offline "remove carol, invite carol again" is accepted as that sequence, both reported', async () => {
  const alice = await client('alice');
  const carol = await client('carol');
  const a = await group(alice, ['bob', 'carol']);
  const c = await open(carol, a.key);
  const seen = watch(a);
  alice.goOffline();
  await a.remove(id('carol'));
  await a.invite(id('carol'), 1);
  alice.goOnline();
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'confirmed');
  expect(seen.outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted']);
  expect(seen.errors).toEqual([]);
  expect(member(a, 'carol')?.status).toBe(MemberStatus.Active);
  await waitFor(
    () => texts(a).includes('alice invited carol') && texts(a).includes('alice removed carol'),
    5000,
    'both steps in the log',
  );
  const log = texts(a);
  expect(log.indexOf('alice removed carol')).toBeLessThan(log.indexOf('alice invited carol'));
  // The server's join/exit times (same transaction as the notes) leave a valid active entry.
  expect(member(a, 'carol')?.exitTime).toBeUndefined();
  await a.setRole(id('carol'), MemberRole.Admin);
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'carol promoted');
  void c;
});

it('#4 a group created offline, then a member removed before the first sync, is accepted', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  alice.goOffline();
  const a = await alice.createGroup({
    name: 'offline',
    members: ['bob', 'carol'].map((m) => ({ identity: m, identityType: 1 })),
  });
  const seen = watch(a);
  await a.remove(id('carol'));
  await a.send({ content: 'just us' });
  alice.goOnline();
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'confirmed');
  expect(seen.errors).toEqual([]);
  const b = await open(bob, a.key);
  await waitFor(() => texts(b).includes('just us'), 5000, 'message at bob');
  expect(member(b, 'carol')?.status).toBe(MemberStatus.Exited);
  expect(texts(b).indexOf('alice removed carol')).toBeLessThan(texts(b).indexOf('just us'));
});

it('#4 a group created offline and handed over before the first sync is accepted (found by the fuzz test)', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  alice.goOffline();
  const a = await alice.createGroup({
    name: 'handed over',
    members: [{ identity: 'bob', identityType: 1 }],
  });
  const seen = watch(a);
  await a.transferOwnership(id('bob'));
  alice.goOnline();
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'confirmed');
  expect(seen.errors).toEqual([]);
  const b = await open(bob, a.key);
  expect(member(b, 'bob')?.role).toBe(MemberRole.Owner);
  expect(member(b, 'alice')?.role).toBe(MemberRole.Admin);
});

it('#4 a creator’s message after handing over its offline group is judged by the genesis (fuzz seed 888043076)', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  alice.goOffline();
  const a = await alice.createGroup({
    name: 'handed over, then spoke',
    members: [{ identity: 'bob', identityType: 1 }],
  });
  const seen = watch(a);
  await a.transferOwnership(id('bob'));
  await a.send({ content: 'over to you, bob' });
  alice.goOnline();
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'confirmed');
  expect(seen.errors).toEqual([]);
  // Each accepted exactly once (a message is confirmed by its stamp, possibly before the ack).
  expect([...seen.outcomes].sort((x, y) => x.kind.localeCompare(y.kind))).toEqual([
    { kind: 'createGroup', status: 'accepted' },
    { kind: 'send', status: 'accepted' },
    { kind: 'transfer', status: 'accepted' },
  ]);
  const b = await open(bob, a.key);
  await waitFor(() => texts(b).includes('over to you, bob'), 5000, 'message at bob');
  expect(member(b, 'bob')?.role).toBe(MemberRole.Owner);
});

it('#4 three offline role changes of one member (merged by Yjs into one struct) are judged one by one', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  const a = await group(alice, ['bob']);
  const b = await open(bob, a.key);
  const seen = watch(a);
  alice.goOffline();
  await a.setRole(id('bob'), MemberRole.Admin);
  await a.setRole(id('bob'), MemberRole.Member);
  await a.setRole(id('bob'), MemberRole.Admin);
  alice.goOnline();
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'confirmed');
  expect(seen.errors).toEqual([]);
  expect(seen.outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted']);
  await waitFor(() => member(b, 'bob')?.role === MemberRole.Admin, 5000, 'bob admin at bob');
});

/**
 * A WebSocket whose incoming frames wait while `held` is set: a test can act in the window
 * between the socket opening and the server's first frame arriving, deterministically.
 */
const gate = { held: false, queue: [] as Array<() => void> };
class HeldWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    const property = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage')!;
    type Handler = ((event: WebSocket.MessageEvent) => void) | null;
    Object.defineProperty(this, 'onmessage', {
      get: () => property.get!.call(this),
      set: (handler: Handler) =>
        property.set!.call(
          this,
          handler
            ? (event: WebSocket.MessageEvent) =>
                gate.held ? gate.queue.push(() => handler(event)) : handler(event)
            : null,
        ),
    });
  }
}

it('#5 a message written right after reconnecting, ahead of the offline batch, is delivered', async () => {
  const alice = await env.client('alice', {
    maxBackoffMs: 100,
    WebSocket: HeldWebSocket as unknown as typeof globalThis.WebSocket,
  });
  const bob = await client('bob');
  const a = await alice.openPrivate('bob');
  const b = await bob.openPrivate('alice');
  await Promise.all([a.whenSynced(), b.whenSynced()]);
  const seen = watch(a);
  alice.goOffline();
  await a.send({ content: 'offline' });
  // Written the moment the socket opens, before the server's sync step 1 arrives: y-websocket
  // sends it as a plain update ahead of its sync step 2, which carries the offline message.
  gate.held = true;
  const sentEarly = new Promise<void>((resolve, reject) =>
    a.on('status', (status) => {
      if (status === 'connected' && gate.held)
        a.send({ content: 'right after' }).then(() => {
          gate.held = false;
          for (const deliver of gate.queue.splice(0)) deliver();
          resolve();
        }, reject);
    }),
  );
  alice.goOnline();
  await sentEarly;
  await waitFor(() => a.pendingIntents().length === 0, 10_000, 'both confirmed');
  await waitFor(() => texts(b).length === 2, 5000, 'both at bob');
  expect(texts(b)).toEqual(['offline', 'right after']);
  expect(seen.outcomes).toEqual([
    { kind: 'send', status: 'accepted' },
    { kind: 'send', status: 'accepted' },
  ]);
  expect(seen.errors).toEqual([]);
});

it('#2 a write the server took before access was lost, whose ack was lost, is reported accepted (found by the fuzz test)', async () => {
  const alice = await client('alice');
  const bob = await env.client('bob', {
    maxBackoffMs: 100,
    WebSocket: HeldWebSocket as unknown as typeof globalThis.WebSocket,
  });
  const bob2 = await client('bob');
  const a = await group(alice, ['bob']);
  const b = await open(bob, a.key);
  const b2 = await open(bob2, a.key);
  const seen = watch(b);
  gate.held = true; // the server's ack and stamp never reach this device
  const sent = await b.send({ content: 'last words' });
  await waitFor(() => texts(a).includes('last words'), 5000, 'accepted by the server');
  bob.goOffline();
  gate.held = false;
  gate.queue.splice(0);
  await b2.exit(); // bob leaves from his other device
  await waitFor(() => b2.pendingIntents().length === 0, 5000, 'exit confirmed');
  bob.goOnline();
  await waitFor(() => b.pendingIntents().length === 0, 5000, 'settled');
  expect(seen.outcomes).toEqual([{ kind: 'send', status: 'accepted' }]);
  expect(a.messages().find((m) => m.key === sent.key)?.pending).toBe(false);
});

it('#6 a farewell written before leaving is stamped before "left the group"', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  const a = await group(alice, ['bob']);
  const b = await open(bob, a.key);
  bob.goOffline();
  await b.send({ content: 'see you' });
  await b.exit();
  bob.goOnline();
  await waitFor(() => texts(a).includes('bob left the group'), 5000, 'exit note');
  const log = texts(a);
  expect(log.indexOf('see you')).toBeGreaterThanOrEqual(0);
  expect(log.indexOf('see you')).toBeLessThan(log.indexOf('bob left the group'));
});

it('#7 the SDK judges a group created offline: the owner cannot leave it or recall an unsent message', async () => {
  const alice = await client('alice');
  alice.goOffline();
  const a = await alice.createGroup({
    name: 'offline',
    members: [{ identity: 'bob', identityType: 1 }],
  });
  await expect(a.exit()).rejects.toMatchObject({ code: 'EXIT_FORBIDDEN' });
  const draft = await a.send({ content: 'draft' });
  await expect(a.recall(draft.key)).rejects.toMatchObject({ code: 'NOT_ACCEPTED_YET' });
  expect(a.pendingIntents().map((i) => i.kind)).toEqual(['createGroup', 'send']);
  alice.goOnline();
  await waitFor(() => a.pendingIntents().length === 0, 5000, 'confirmed');
});

it('#8 a recall that loses the race to another device is superseded, with no unattributed error', async () => {
  const alice = await client('alice');
  const alice2 = await client('alice');
  const bob = await client('bob');
  const a = await alice.openPrivate('bob');
  const a2 = await alice2.openPrivate('bob');
  const b = await bob.openPrivate('alice');
  await Promise.all([a.whenSynced(), a2.whenSynced(), b.whenSynced()]);
  const sent = await a.send({ content: 'oops' });
  await waitFor(() => a2.messages().some((m) => m.key === sent.key && !m.pending), 5000, 'stamped');
  const seen = watch(a);
  alice.goOffline();
  await a.recall(sent.key);
  await a2.recall(sent.key);
  await waitFor(() => a2.pendingIntents().length === 0, 5000, 'other recall confirmed');
  // The other device's recall reaches this one before its own write goes out.
  const { applyUpdate, encodeStateAsUpdate, encodeStateVector } = await import('yjs');
  applyUpdate(a.doc, encodeStateAsUpdate(a2.doc, encodeStateVector(a.doc)), 'remote');
  alice.goOnline();
  await waitFor(() => a.pendingIntents().length === 0, 10_000, 'settled');
  expect(seen.outcomes).toEqual([{ kind: 'recall', status: 'superseded' }]);
  expect(seen.errors.filter((e) => !e.intent)).toEqual([]);
  await waitFor(() => b.messages().find((m) => m.key === sent.key)?.recalled, 5000, 'recalled');
});
