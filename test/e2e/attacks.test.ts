/**
 * The adversarial suite: each attack over a real socket, in its own test, asserting the explicit
 * rejection (code, then close 4409) and that the server's document is byte-for-byte unchanged
 * (same state vector and content, no pending structs). Valid counterparts are accepted, so the
 * rules are not simply refusing everything. The server clock is the test's.
 */
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { genesisWrites } from '../../shared/actions.js';
import { MemberRole, MemberStatus, MessageFormat } from '../../shared/enums.js';
import { newMessageKey } from '../../shared/ids.js';
import { type ConversationKey, groupKey, privateKey, systemKey } from '../../shared/keys.js';
import { tombstone } from '../../shared/rules/message.js';
import { conversationRoots, type Member, type Message } from '../../shared/schema.js';
import { any, craft } from '../craft.js';
import {
  closed,
  id,
  rawSocket,
  type SyncPeer,
  startTestServer,
  syncPeer,
  type TestServer,
  token,
  waitFor,
} from '../helpers.js';

let ts: TestServer;
let clock = Date.UTC(2026, 10, 26, 12, 0, 0);
const chat = privateKey(id('alice'), id('bob'));
const group = groupKey();
const notices = systemKey(id('sam'));
const keep: SyncPeer[] = [];

function message(sender: string, content: string, extra: Partial<Message> = {}): Message {
  return {
    key: newMessageKey(),
    sender: id(sender),
    senderType: 1,
    format: MessageFormat.Text,
    content,
    sentAt: clock,
    ...extra,
  };
}

function post(peer: SyncPeer, m: Message): Uint8Array {
  return peer.change((doc) => conversationRoots(doc).messages.set(m.key, m));
}

function room(key: ConversationKey) {
  const r = ts.server.rooms.peek(key);
  if (!r) throw new Error(`${key} not loaded`);
  return r;
}

async function accepted(
  key: ConversationKey,
  check: (doc: Y.Doc) => boolean,
  what: string,
): Promise<void> {
  await waitFor(() => check(room(key).doc), 5000, what);
}

/** Runs `craft` as `who` and asserts the rejection and an unchanged server document. */
async function attack(
  key: ConversationKey,
  who: string,
  craft: (peer: SyncPeer) => void,
  code: string,
  options: { type?: number; closeCode?: number } = {},
): Promise<void> {
  const peer = await syncPeer(ts, key, who, options.type ?? 1);
  const r = room(key);
  await r.drain();
  const before = Y.encodeStateAsUpdate(r.doc);
  const vector = Y.encodeStateVector(r.doc);
  craft(peer);
  const outcome = await peer.outcome();
  expect(outcome.rejection?.code ?? outcome.reason).toBe(code);
  expect(outcome.code).toBe(options.closeCode ?? 4409);
  await r.drain();
  expect(Y.encodeStateVector(r.doc)).toEqual(vector);
  expect(Y.encodeStateAsUpdate(r.doc)).toEqual(before);
  expect(r.doc.store.pendingStructs).toBeNull();
  expect(r.doc.store.pendingDs).toBeNull();
}

let aliceMessage: Message;

beforeAll(async () => {
  ts = await startTestServer({ overrides: { now: () => clock } });
  // A private chat with one accepted message from alice.
  const alice = await syncPeer(ts, chat, 'alice');
  keep.push(alice);
  aliceMessage = message('alice', 'hello bob');
  post(alice, aliceMessage);
  await accepted(
    chat,
    (d) => conversationRoots(d).stamps.has(aliceMessage.key),
    'alice message stamped',
  );

  // A group: olga owns it, adam is admin, mia and max are members; at most 5 members.
  const olga = await syncPeer(ts, group, 'olga');
  keep.push(olga);
  const writes = genesisWrites(
    group,
    {
      name: 'team',
      maxMemberCount: 5,
      members: ['adam', 'mia', 'max'].map((m) => ({ identity: id(m), identityType: 1 })),
    },
    { id: id('olga'), type: 1 },
    clock,
  );
  olga.change((doc) =>
    doc.transact(() => {
      for (const w of writes) doc.getMap(w.root).set(w.key, w.value);
    }),
  );
  await accepted(group, (d) => conversationRoots(d).meta.has('conversationId'), 'group created');
  olga.change((doc) => {
    const adam = conversationRoots(doc).members.get('adam')!;
    conversationRoots(doc).members.set('adam', { ...adam, role: MemberRole.Admin });
  });
  await accepted(
    group,
    (d) => conversationRoots(d).members.get('adam')?.role === MemberRole.Admin,
    'adam is admin',
  );
  const mia = await syncPeer(ts, group, 'mia');
  keep.push(mia);
  const miaMessage = message('mia', 'hi team');
  post(mia, miaMessage);
  await accepted(
    group,
    (d) => conversationRoots(d).stamps.has(miaMessage.key),
    'mia message stamped',
  );

  // A system conversation of sam (created by sam connecting).
  keep.push(await syncPeer(ts, notices, 'sam'));
});

afterAll(async () => {
  for (const p of keep) p.close();
  await ts.close();
});

describe('messages', () => {
  it('rejects posting as someone else', async () => {
    await attack(chat, 'bob', (p) => post(p, message('alice', 'I am alice')), 'NOT_SENDER');
  });

  it('rejects a sender type that is not the token’s', async () => {
    await attack(
      chat,
      'bob',
      (p) => post(p, message('bob', 'type 9', { senderType: 9 })),
      'NOT_SENDER',
    );
  });

  it("rejects reusing another identity's clientID", async () => {
    const aliceClient = Number(
      [...conversationRoots(room(chat).doc).clients.entries()].find(
        ([, who]) => who === 'alice',
      )![0],
    );
    await attack(
      chat,
      'bob',
      (p) => {
        p.doc.clientID = aliceClient;
        post(p, message('bob', 'with alice’s clientID'));
      },
      'CLIENT_ID_TAKEN',
    );
  });

  it("rejects editing another member's message", async () => {
    await attack(
      chat,
      'bob',
      (p) => post(p, { ...aliceMessage, content: 'edited by bob' }),
      'IMMUTABLE',
    );
  });

  it("rejects editing one's own message (messages change only by recall)", async () => {
    await attack(
      chat,
      'alice',
      (p) => post(p, { ...aliceMessage, content: 'edited' }),
      'IMMUTABLE',
    );
  });

  it("rejects deleting another member's message", async () => {
    await attack(
      chat,
      'bob',
      (p) => p.change((doc) => conversationRoots(doc).messages.delete(aliceMessage.key)),
      'SCHEMA_VIOLATION',
    );
  });

  it('rejects a message carrying server stamp fields', async () => {
    await attack(
      chat,
      'bob',
      (p) => post(p, { ...message('bob', 'x'), ...({ seq: 1 } as object) } as Message),
      'INVALID_MESSAGE',
    );
  });

  it('rejects a reply to a message that does not exist', async () => {
    await attack(
      chat,
      'bob',
      (p) => post(p, message('bob', 're', { replyTo: newMessageKey() })),
      'REPLY_NOT_FOUND',
    );
  });

  it('rejects forwarding from a conversation the sender cannot read, accepts a readable one', async () => {
    const miaMsg = [...conversationRoots(room(group).doc).messages.values()].find(
      (m) => m.sender === 'mia',
    )!;
    await attack(
      chat,
      'bob',
      (p) =>
        post(p, message('bob', 'fwd', { forwardedFrom: { conversation: group, key: miaMsg.key } })),
      'FORWARD_NOT_FOUND',
    );
    const alice = keep[0]!;
    const forward = message('alice', aliceMessage.content, {
      forwardedFrom: { conversation: chat, key: aliceMessage.key },
    });
    post(alice, forward);
    await accepted(
      chat,
      (d) => conversationRoots(d).stamps.has(forward.key),
      'readable forward accepted',
    );
  });

  it('rejects a forward of a real message with invented content (issue 12)', async () => {
    await attack(
      chat,
      'alice',
      (p) =>
        post(
          p,
          message('alice', 'bob said: send me your password', {
            forwardedFrom: { conversation: chat, key: aliceMessage.key },
          }),
        ),
      'INVALID_MESSAGE',
    );
  });

  it('rejects a message with a nested Yjs type', async () => {
    await attack(
      chat,
      'bob',
      (p) =>
        p.change((doc) => {
          const nested = new Y.Map<unknown>();
          conversationRoots(doc).messages.set(newMessageKey(), nested as unknown as Message);
          nested.set('content', 'nested');
        }),
      'SCHEMA_VIOLATION',
    );
  });

  it('rejects writing to a system conversation as its identity', async () => {
    await attack(
      notices,
      'sam',
      (p) => post(p, message('sam', 'I am the system')),
      'POST_FORBIDDEN',
    );
  });
});

describe('recall', () => {
  it("rejects recalling another's message as a plain member", async () => {
    await attack(
      chat,
      'bob',
      (p) => post(p, tombstone(aliceMessage, id('bob'))),
      'RECALL_FORBIDDEN',
    );
  });

  it('rejects a recall 121 s after acceptance and accepts one at 119 s (server clock)', async () => {
    const alice = keep[0]!;
    const late = message('alice', 'late');
    const early = message('alice', 'early-and-secret-content');
    post(alice, late);
    post(alice, early);
    await accepted(chat, (d) => conversationRoots(d).stamps.has(early.key), 'stamped');
    clock += 119_000;
    post(alice, tombstone(early, id('alice')));
    await accepted(
      chat,
      (d) => conversationRoots(d).stamps.get(early.key)?.recalledAt === clock,
      'recall at 119 s',
    );
    expect(conversationRoots(room(chat).doc).messages.get(early.key)?.content).toBe('');
    // The recall compacts the stored log: the content is gone from disk too.
    await room(chat).drain();
    const stored = Buffer.concat(
      (await ts.server.store.load(chat)).map((u) => Buffer.from(u)),
    ).toString('utf8');
    expect(stored).not.toContain('early-and-secret-content');
    clock += 2_000;
    await attack(
      chat,
      'alice',
      (p) => post(p, tombstone(late, id('alice'))),
      'RECALL_WINDOW_PASSED',
    );
  });

  it('rejects recalling twice', async () => {
    const recalled = [...conversationRoots(room(chat).doc).messages.values()].find(
      (m) => m.recalled,
    )!;
    await attack(
      chat,
      'alice',
      (p) => post(p, { ...tombstone(recalled, id('alice')) }),
      'ALREADY_RECALLED',
    );
  });
});

describe('roles and membership', () => {
  const member = (who: string): Member => conversationRoots(room(group).doc).members.get(who)!;
  const setMember = (p: SyncPeer, who: string, value: Member) =>
    p.change((doc) => conversationRoots(doc).members.set(who, value));

  it('rejects a member promoting itself', async () => {
    await attack(
      group,
      'mia',
      (p) => setMember(p, 'mia', { ...member('mia'), role: MemberRole.Admin }),
      'ROLE_FORBIDDEN',
    );
  });

  it('rejects an admin creating an admin', async () => {
    await attack(
      group,
      'adam',
      (p) => setMember(p, 'mia', { ...member('mia'), role: MemberRole.Admin }),
      'ROLE_FORBIDDEN',
    );
  });

  it('rejects an admin touching the owner', async () => {
    await attack(
      group,
      'adam',
      (p) =>
        setMember(p, 'olga', { ...member('olga'), status: MemberStatus.Exited, exitTime: clock }),
      'ROLE_FORBIDDEN',
    );
  });

  it('rejects anyone making themselves owner', async () => {
    await attack(
      group,
      'adam',
      (p) => setMember(p, 'adam', { ...member('adam'), role: MemberRole.Owner }),
      'ROLE_FORBIDDEN',
    );
  });

  it('rejects adding members beyond the limit', async () => {
    const invite = (): Member => ({
      identityType: 1,
      role: MemberRole.Member,
      status: MemberStatus.Active,
      joinTime: clock,
      invitedBy: id('adam'),
    });
    await attack(
      group,
      'adam',
      (p) =>
        p.change((doc) =>
          doc.transact(() => {
            conversationRoots(doc).members.set('nina', invite());
            conversationRoots(doc).members.set('noah', invite());
          }),
        ),
      'MEMBER_LIMIT',
    );
  });

  it('rejects a member changing settings and an admin dissolving', async () => {
    await attack(
      group,
      'mia',
      (p) => p.change((doc) => conversationRoots(doc).settings.set('allowInvite', false)),
      'ROLE_FORBIDDEN',
    );
    await attack(
      group,
      'adam',
      (p) => p.change((doc) => conversationRoots(doc).meta.set('status', 2)),
      'ROLE_FORBIDDEN',
    );
  });

  it("rejects writing a private conversation's meta", async () => {
    await attack(
      chat,
      'alice',
      (p) => p.change((doc) => conversationRoots(doc).meta.set('name', 'mine')),
      'SERVER_ONLY',
    );
  });

  it('closes an exited member’s socket at once and refuses its reconnection', async () => {
    const max = await syncPeer(ts, group, 'max');
    const adam = await syncPeer(ts, group, 'adam');
    keep.push(adam);
    setMember(adam, 'max', { ...member('max'), status: MemberStatus.Exited, exitTime: clock });
    const outcome = await max.outcome();
    expect(outcome.code).toBe(4403);
    expect(outcome.reason).toMatch(/^NOT_MEMBER/);
    const again = await rawSocket(`${ts.syncUrl}/${group}?token=${await token('max')}`);
    const refused = await closed(again);
    expect(refused.code).toBe(4403);
    expect(member('max').status).toBe(MemberStatus.Exited);
  });
});

describe('read positions', () => {
  it('rejects moving a read position backwards, accepts forwards', async () => {
    const bob = await syncPeer(ts, chat, 'bob');
    keep.push(bob);
    bob.change((doc) => conversationRoots(doc).reads.set('bob:device-one', 2));
    await accepted(
      chat,
      (d) => conversationRoots(d).reads.get('bob:device-one') === 2,
      'read forward',
    );
    await attack(
      chat,
      'bob',
      (p) => p.change((doc) => conversationRoots(doc).reads.set('bob:device-one', 1)),
      'READ_BACKWARDS',
    );
  });

  it('caps devices per identity in read positions (one update inventing 21 is refused)', async () => {
    await attack(
      group,
      'adam',
      (p) =>
        p.change((doc) => {
          for (let n = 0; n < 21; n++) conversationRoots(doc).reads.set(`adam:device-${n}`, 1);
        }),
      'TOO_MANY_DEVICES',
    );
    // At the cap (20 devices) is fine, and moving one of them stays fine.
    const adam = await syncPeer(ts, group, 'adam');
    keep.push(adam);
    adam.change((doc) => {
      for (let n = 0; n < 20; n++) conversationRoots(doc).reads.set(`adam:device-${n}`, 1);
    });
    await accepted(
      group,
      (d) => conversationRoots(d).reads.get('adam:device-19') === 1,
      '20 devices',
    );
    adam.change((doc) => conversationRoots(doc).reads.set('adam:device-0', 2));
    await accepted(group, (d) => conversationRoots(d).reads.get('adam:device-0') === 2, 'moved');
    await attack(
      group,
      'adam',
      (p) => p.change((doc) => conversationRoots(doc).reads.set('adam:device-20', 2)),
      'TOO_MANY_DEVICES',
    );
  });

  it("rejects moving another member's read position", async () => {
    await attack(
      chat,
      'bob',
      (p) => p.change((doc) => conversationRoots(doc).reads.set('alice:device-one', 1)),
      'NOT_OWN_STATE',
    );
  });
});

describe('server-only state and structure', () => {
  it('rejects writing server stamps', async () => {
    await attack(
      chat,
      'bob',
      (p) =>
        p.change((doc) =>
          conversationRoots(doc).stamps.set(aliceMessage.key, { seq: 99, id: '1' as never, at: 0 }),
        ),
      'SERVER_ONLY',
    );
  });

  it('rejects writing clientID bindings', async () => {
    await attack(
      chat,
      'bob',
      (p) => p.change((doc) => conversationRoots(doc).clients.set('12345', 'bob')),
      'SERVER_ONLY',
    );
  });

  it('rejects an update with missing dependencies', async () => {
    await attack(
      chat,
      'bob',
      (p) => {
        const local = new Y.Doc();
        Y.applyUpdate(local, Y.encodeStateAsUpdate(p.doc));
        conversationRoots(local).messages.set('x'.repeat(32), message('bob', 'first'));
        const sv = Y.encodeStateVector(local);
        const second = message('bob', 'second');
        conversationRoots(local).messages.set(second.key, second);
        p.send(Y.encodeStateAsUpdate(local, sv)); // only the second write
      },
      'MISSING_DEPENDENCIES',
    );
  });

  it('survives a struct whose origin is itself (an endless parent chain)', async () => {
    await attack(
      chat,
      'bob',
      (p) =>
        p.send(
          craft([
            {
              client: p.doc.clientID,
              clock: 0,
              origin: Y.createID(p.doc.clientID, 0),
              content: any(1),
            },
          ]),
        ),
      'MALFORMED_MESSAGE',
      { closeCode: 4400 },
    );
    expect((await fetch(`${ts.httpUrl}/health`)).status).toBe(200);
  });

  it('rejects two writes to one key from the same point (a forged value hidden behind a valid one)', async () => {
    const key = newMessageKey();
    const forged = { ...message('alice', 'forged'), key };
    const decoy = { ...message('bob', 'ok'), key };
    await attack(
      chat,
      'bob',
      (p) =>
        p.send(
          craft([
            {
              client: 0x7ffffff0,
              clock: 0,
              parent: 'messages',
              parentSub: key,
              content: any(forged),
            },
            { client: 3, clock: 0, parent: 'messages', parentSub: key, content: any(decoy) },
          ]),
        ),
      'SCHEMA_VIOLATION',
    );
  });

  it('rejects unknown root types', async () => {
    await attack(
      chat,
      'bob',
      (p) => p.change((doc) => doc.getMap('evil').set('x', 1)),
      'SCHEMA_VIOLATION',
    );
    expect(room(chat).doc.share.has('evil')).toBe(false);
  });

  it('rejects a struct with a non-null rightOrigin', async () => {
    const target = [...Y.encodeStateVector(room(chat).doc)].length; // room loaded
    expect(target).toBeGreaterThan(0);
    const item = (
      conversationRoots(room(chat).doc).messages as unknown as { _map: Map<string, Y.Item> }
    )._map.get(aliceMessage.key)!;
    await attack(
      chat,
      'bob',
      (p) => {
        // Hand-encoded V1 update: one ContentAny item with only a rightOrigin, pointing at an
        // existing message (Yjs would not check that its origin and rightOrigin share a parent).
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, 1); // clients
        encoding.writeVarUint(e, 1); // structs
        encoding.writeVarUint(e, p.doc.clientID);
        encoding.writeVarUint(e, 0); // clock
        encoding.writeUint8(e, 8 | 0x40); // ContentAny, has rightOrigin
        encoding.writeVarUint(e, item.id.client);
        encoding.writeVarUint(e, item.id.clock);
        encoding.writeVarUint(e, 1);
        encoding.writeAny(e, { content: 'squeezed in' });
        encoding.writeVarUint(e, 0); // empty delete set
        p.send(encoding.toUint8Array(e));
      },
      'SCHEMA_VIOLATION',
    );
  });

  it('rejects binding a clientID that another member announced in presence but never wrote with', async () => {
    // adam reads the group and publishes presence under a fresh clientID.
    const adam = await syncPeer(ts, group, 'adam');
    keep.push(adam);
    const announced = adam.doc.clientID;
    const awareness = new awarenessProtocol.Awareness(adam.doc);
    awareness.setLocalState({ user: { id: 'adam', type: 1 } });
    adam.sendAwareness(awarenessProtocol.encodeAwarenessUpdate(awareness, [announced]));
    await waitFor(() => room(group).awareness.getStates().has(announced), 5000, 'presence');
    // mia writes under adam's clientID before adam ever did.
    await attack(
      group,
      'mia',
      (p) => {
        p.doc.clientID = announced;
        post(p, message('mia', 'taking over'));
      },
      'CLIENT_ID_TAKEN',
    );
    // adam keeps his clientID: his presence and his first message are accepted.
    awareness.setLocalState({ user: { id: 'adam', type: 1 }, typing: { at: clock } });
    adam.sendAwareness(awarenessProtocol.encodeAwarenessUpdate(awareness, [announced]));
    const mine = message('adam', 'still mine');
    post(adam, mine);
    await accepted(group, (d) => conversationRoots(d).stamps.has(mine.key), 'adam posts');
    expect(conversationRoots(room(group).doc).clients.get(String(announced))).toBe('adam');
    awareness.destroy();
  });

  it('closes a socket whose awareness claims another identity’s clientID', async () => {
    const aliceClient = Number(
      [...conversationRoots(room(chat).doc).clients.entries()].find(
        ([, who]) => who === 'alice',
      )![0],
    );
    const peer = await syncPeer(ts, chat, 'bob');
    const fake = new Y.Doc();
    fake.clientID = aliceClient;
    const awareness = new awarenessProtocol.Awareness(fake);
    awareness.setLocalState({ user: 'alice' });
    peer.sendAwareness(awarenessProtocol.encodeAwarenessUpdate(awareness, [aliceClient]));
    awareness.destroy();
    const outcome = await peer.outcome();
    expect(outcome.code).toBe(4403);
    expect(outcome.reason).toMatch(/^AWARENESS_REJECTED/);
  });
});

describe('issue 12: what the tables cannot hold, server times, authority, mature-IM refusals', () => {
  const member = (who: string): Member | undefined =>
    conversationRoots(room(group).doc).members.get(who);
  const setMember = (p: SyncPeer, who: string, value: Member) =>
    p.change((doc) => conversationRoots(doc).members.set(who, value));
  const invite = (by: string, extra: Partial<Member> = {}): Member => ({
    identityType: 1,
    role: MemberRole.Member,
    status: MemberStatus.Active,
    joinTime: clock,
    invitedBy: id(by),
    ...extra,
  });
  const systemEventsFor = (target: string) =>
    [...conversationRoots(room(group).doc).messages.values()]
      .filter((m) => m.system && 'target' in m.system && m.system.target === target)
      .map((m) => m.system!.event);
  const fileOf = (url: string) => ({ url, size: 10, mime: 'image/png' });

  it('refuses NUL, integers beyond INT and the like, which Postgres would refuse', async () => {
    await attack(
      chat,
      'bob',
      (p) => post(p, message('bob', 'nul \u0000 inside')),
      'INVALID_MESSAGE',
    );
    await attack(
      chat,
      'bob',
      (p) =>
        post(
          p,
          message('bob', '', {
            format: MessageFormat.Card,
            card: { bizType: 2_147_483_648, bizId: 'order-1' },
          }),
        ),
      'INVALID_MESSAGE',
    );
    await attack(
      group,
      'adam',
      (p) => setMember(p, 'nina', invite('adam', { identityType: 2_147_483_648 })),
      'SCHEMA_VIOLATION',
    );
    await attack(
      group,
      'mia',
      (p) => p.change((doc) => conversationRoots(doc).profiles.set('mia', { nickname: 'm\u0000' })),
      'SCHEMA_VIOLATION',
    );
  });

  let adam: SyncPeer;

  it('sets joinTime from the server clock, whatever the inviter wrote', async () => {
    adam = await syncPeer(ts, group, 'adam');
    keep.push(adam);
    setMember(adam, 'nina', invite('adam', { joinTime: 0 }));
    await accepted(group, () => member('nina')?.status === MemberStatus.Active, 'nina invited');
    await room(group).drain();
    expect(member('nina')?.joinTime).toBe(clock);
    // The inviter's replica gets the server's value too.
    await waitFor(() => conversationRoots(adam.doc).members.get('nina')?.joinTime === clock);
  });

  it("refuses rewriting another member's entry unchanged without authority over it", async () => {
    for (const [who, target] of [
      ['mia', 'adam'],
      ['mia', 'olga'],
      ['adam', 'olga'],
    ] as const) {
      await attack(
        group,
        who,
        (p) => setMember(p, target, { ...member(target)! }),
        'ROLE_FORBIDDEN',
      );
    }
  });

  it('refuses an invite from a muted member', async () => {
    adam.change((doc) =>
      conversationRoots(doc).members.set('nina', {
        ...member('nina')!,
        mutedUntil: clock + 60_000,
      }),
    );
    await accepted(group, () => (member('nina')?.mutedUntil ?? 0) > clock, 'nina muted');
    await attack(group, 'nina', (p) => setMember(p, 'noah', invite('nina')), 'MUTED');
  });

  it("refuses a nickname that is another member's id", async () => {
    for (const nickname of ['olga', 'ADAM ']) {
      await attack(
        group,
        'mia',
        (p) => p.change((doc) => conversationRoots(doc).profiles.set('mia', { nickname })),
        'SCHEMA_VIOLATION',
      );
    }
  });

  it('reports an exited entry for a never-member as the invite and removal it stands for', async () => {
    setMember(
      adam,
      'zed',
      invite('adam', { status: MemberStatus.Exited, exitTime: 1, joinTime: 1 }),
    );
    await accepted(group, () => member('zed') !== undefined, 'zed written');
    await room(group).drain();
    expect(systemEventsFor('zed')).toEqual(['joined', 'removed']);
    expect([member('zed')?.joinTime, member('zed')?.exitTime]).toEqual([clock, clock]);
    // A plain member cannot remove, so it cannot write one either.
    await attack(
      group,
      'mia',
      (p) => setMember(p, 'zoe', invite('mia', { status: MemberStatus.Exited, exitTime: 1 })),
      'ROLE_FORBIDDEN',
    );
  });

  it('refuses file URLs that are not files of this server (tracking pixels)', async () => {
    for (const url of ['https://tracker.example/p.png?u=bob', '/api/v1/other/x.png']) {
      await attack(
        chat,
        'bob',
        (p) => post(p, message('bob', '', { format: MessageFormat.Image, file: fileOf(url) })),
        'INVALID_MESSAGE',
      );
    }
    const own = message('bob', '', {
      format: MessageFormat.Image,
      file: fileOf(`/api/v1/files/${chat}/${'ab'.repeat(32)}`),
    });
    const bob = await syncPeer(ts, chat, 'bob');
    keep.push(bob);
    post(bob, own);
    await accepted(chat, (d) => conversationRoots(d).stamps.has(own.key), 'own file accepted');
  });

  it('sets exitTime from the server clock too, whatever the remover wrote', async () => {
    setMember(adam, 'nina', { ...member('nina')!, status: MemberStatus.Exited, exitTime: 1 });
    await accepted(group, () => member('nina')?.status === MemberStatus.Exited, 'nina removed');
    await room(group).drain();
    expect(member('nina')?.exitTime).toBe(clock);
  });

  it('refuses card messages from anyone but backend services', async () => {
    await attack(
      chat,
      'bob',
      (p) =>
        post(
          p,
          message('bob', '', {
            format: MessageFormat.Card,
            card: { bizType: 1, bizId: 'refund-1', title: 'Refund approved' },
          }),
        ),
      'POST_FORBIDDEN',
    );
  });
});

describe('dissolve', () => {
  let lastWords: Message;
  it('lets the owner dissolve; then no message is accepted', async () => {
    const olga = keep[1]!;
    const mia = await syncPeer(ts, group, 'mia');
    lastWords = message('mia', 'last words');
    post(mia, lastWords);
    await accepted(group, (d) => conversationRoots(d).stamps.has(lastWords.key), 'last words');
    mia.close();
    olga.change((doc) => conversationRoots(doc).meta.set('status', 2));
    await accepted(group, (d) => conversationRoots(d).meta.get('status') === 2, 'dissolved');
    await attack(group, 'mia', (p) => post(p, message('mia', 'anyone?')), 'CONVERSATION_DISSOLVED');
  });

  it('moves only read marks in a dissolved group: no recall by anyone, no profile change', async () => {
    await attack(
      group,
      'mia',
      (p) => post(p, tombstone(lastWords, id('mia'))),
      'CONVERSATION_DISSOLVED',
    );
    await attack(
      group,
      'olga',
      (p) => post(p, tombstone(lastWords, id('olga'))),
      'CONVERSATION_DISSOLVED',
    );
    await attack(
      group,
      'mia',
      (p) => p.change((doc) => conversationRoots(doc).profiles.set('mia', { nickname: 'gone' })),
      'CONVERSATION_DISSOLVED',
    );
    const mia = await syncPeer(ts, group, 'mia');
    keep.push(mia);
    const seq = conversationRoots(room(group).doc).stamps.get(lastWords.key)!.seq;
    mia.change((doc) => conversationRoots(doc).reads.set('mia:device-one', seq));
    await accepted(
      group,
      (d) => conversationRoots(d).reads.get('mia:device-one') === seq,
      'read mark moved',
    );
  });
});
