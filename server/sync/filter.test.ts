import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { genesisWrites } from '../../shared/actions.js';
import { writeGenesis } from '../../shared/conversation.js';
import { MemberRole, MemberStatus } from '../../shared/enums.js';
import { asIdentityId, type MessageId, newMessageKey } from '../../shared/ids.js';
import { groupKey, parseKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import { any, craft, currentItem } from '../../test/craft.js';
import type { Identity } from '../auth/identity.js';
import { createFilter, type FilterInput } from './filter.js';

const alice: Identity = { id: asIdentityId('alice'), type: 1 };
const carol: Identity = { id: asIdentityId('carol'), type: 1 };
const filter = createFilter({ maxUpdateBytes: 10_000, maxStructs: 100 });

function serverDoc(): Y.Doc {
  const doc = new Y.Doc();
  conversationRoots(doc);
  writeGenesis(doc, {
    parsed: parseKey('private_alice_bob'),
    conversationId: '1' as MessageId,
    now: 1,
    createdBy: alice.id,
    identityTypes: new Map(),
  });
  return doc;
}

/** A client replica synced with `server`. */
function replica(server: Y.Doc): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(server));
  return doc;
}

function updateOf(doc: Y.Doc, change: () => void): Uint8Array {
  const before = Y.encodeStateVector(doc);
  change();
  return Y.encodeStateAsUpdate(doc, before);
}

function verdict(doc: Y.Doc, update: Uint8Array, identity = alice) {
  const input: FilterInput = {
    doc,
    parsed: parseKey('private_alice_bob'),
    identity,
    update,
    now: 0,
    lastSeq: 0,
  };
  return filter(input);
}

function expectRejected(doc: Y.Doc, update: Uint8Array, code: string, identity = alice) {
  const state = Y.encodeStateAsUpdate(doc);
  const result = verdict(doc, update, identity);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.error.code).toBe(code);
  // The filter never touches the document.
  expect(Y.encodeStateAsUpdate(doc)).toEqual(state);
  expect(doc.store.pendingStructs).toBeNull();
}

describe('update filter (structure)', () => {
  it('accepts a member appending a message, including an offline batch', () => {
    const server = serverDoc();
    const client = replica(server);
    const update = updateOf(client, () => {
      for (let i = 0; i < 50; i++) {
        const key = newMessageKey();
        conversationRoots(client).messages.set(key, {
          key,
          sender: alice.id,
          senderType: 1,
          format: 0,
          content: `m${i}`,
          sentAt: i,
        });
      }
    });
    const result = verdict(server, update);
    expect(result.ok && result.bind).toEqual([client.clientID]);
  });

  it('rejects a non-member', () => {
    const server = serverDoc();
    const client = replica(server);
    const update = updateOf(client, () =>
      conversationRoots(client).messages.set('k', { x: 1 } as never),
    );
    expectRejected(server, update, 'NOT_MEMBER', carol);
  });

  it('rejects an update whose dependencies the server lacks (it would sit in pendingStructs)', () => {
    const server = serverDoc();
    const client = replica(server);
    updateOf(client, () => conversationRoots(client).messages.set('first', { n: 1 } as never));
    const second = updateOf(client, () =>
      conversationRoots(client).messages.set('second', { n: 2 } as never),
    );
    expectRejected(server, second, 'MISSING_DEPENDENCIES');
  });

  it('rejects a delete of structs the server does not have', () => {
    const server = serverDoc();
    const client = replica(server);
    updateOf(client, () => conversationRoots(client).messages.set('k', { n: 1 } as never));
    const del = updateOf(client, () => conversationRoots(client).messages.delete('k'));
    // Only the delete set travels: the struct it deletes never reached the server.
    expectRejected(server, del, 'MISSING_DEPENDENCIES');
  });

  it('rejects unknown root types (applyUpdate would create them)', () => {
    const server = serverDoc();
    const client = replica(server);
    const update = updateOf(client, () => client.getMap('evil').set('x', 1));
    expectRejected(server, update, 'SCHEMA_VIOLATION');
    expect(server.share.has('evil')).toBe(false);
  });

  it('rejects updates with gaps (Skip structs)', () => {
    const server = serverDoc();
    const client = replica(server);
    const u1 = updateOf(client, () =>
      conversationRoots(client).messages.set('a', { n: 1 } as never),
    );
    updateOf(client, () => conversationRoots(client).messages.set('b', { n: 2 } as never));
    const u3 = updateOf(client, () =>
      conversationRoots(client).messages.set('c', { n: 3 } as never),
    );
    expectRejected(server, Y.mergeUpdates([u1, u3]), 'MALFORMED_MESSAGE');
  });

  it('rejects oversized updates and bytes that do not decode', () => {
    const server = serverDoc();
    expectRejected(server, new Uint8Array(10_001), 'UPDATE_TOO_LARGE');
    expectRejected(server, Uint8Array.of(1, 200, 200, 200), 'MALFORMED_MESSAGE');
    const client = replica(server);
    const many = updateOf(client, () => {
      for (let i = 0; i < 101; i++)
        client.transact(() => conversationRoots(client).reads.set(`k${i}`, i));
    });
    // 101 map keys -> 101 structs, over the cap of 100.
    expectRejected(server, many, 'UPDATE_TOO_LARGE');
  });
});

/**
 * Regressions from a security review: each of these got a change past an earlier filter (or
 * crashed the process), or rejected an honest client.
 */
describe('update filter (review regressions)', () => {
  const key = groupKey();
  const group = parseKey(key);
  const who = (id: string): Identity => ({ id: asIdentityId(id), type: 1 });
  const groupFilter = (doc: Y.Doc, identity: Identity, update: Uint8Array) =>
    filter({ doc, parsed: group, identity, update, now: 1000, lastSeq: 10 });

  /** A group (olga owner, adam admin, mia and max members) built through the filter itself. */
  function team(): Y.Doc {
    const server = new Y.Doc();
    conversationRoots(server);
    const olga = new Y.Doc();
    const writes = genesisWrites(
      key,
      {
        name: 'team',
        members: ['adam', 'mia', 'max'].map((m) => ({
          identity: asIdentityId(m),
          identityType: 1,
        })),
      },
      who('olga'),
      0,
    );
    const genesis = updateOf(olga, () => {
      for (const w of writes) olga.getMap(w.root).set(w.key, w.value);
    });
    accept(server, who('olga'), genesis);
    const o2 = replica(server);
    const members = conversationRoots(o2).members;
    accept(
      server,
      who('olga'),
      updateOf(o2, () => members.set('adam', { ...members.get('adam')!, role: MemberRole.Admin })),
    );
    return server;
  }

  function accept(server: Y.Doc, identity: Identity, update: Uint8Array): void {
    const verdict = groupFilter(server, identity, update);
    if (!verdict.ok) throw new Error(`${verdict.error.code}: ${verdict.error.message}`);
    Y.applyUpdate(server, update);
    // Bindings are the room's job (stamp.ts); done here so later updates are judged like live ones.
    for (const id of verdict.bind) conversationRoots(server).clients.set(String(id), identity.id);
  }

  function rejects(server: Y.Doc, identity: Identity, update: Uint8Array, code: string): void {
    const state = Y.encodeStateAsUpdate(server);
    const verdict = groupFilter(server, identity, update);
    expect(verdict.ok ? 'accepted' : verdict.error.code).toBe(code);
    expect(Y.encodeStateAsUpdate(server)).toEqual(state);
  }

  const message = (sender: string, content: string, k: string = newMessageKey()) => ({
    key: k,
    sender: asIdentityId(sender),
    senderType: 1,
    format: 0,
    content,
    sentAt: 1,
  });

  it('refuses a struct whose origin is itself or later in its own run (no endless loop)', () => {
    const server = team();
    rejects(
      server,
      who('mia'),
      craft([{ client: 777, clock: 0, origin: Y.createID(777, 0), content: any(1) }]),
      'MALFORMED_MESSAGE',
    );
    const k = newMessageKey();
    const forward = craft([
      { client: 555, clock: 0, origin: Y.createID(555, 1), content: any(message('mia', 'a', k)) },
      {
        client: 555,
        clock: 1,
        parent: 'messages',
        parentSub: k,
        content: any(message('mia', 'b', k)),
      },
    ]);
    rejects(server, who('mia'), forward, 'MALFORMED_MESSAGE');
  });

  it('refuses origins that form a cycle across clients', () => {
    const server = team();
    const cycle = craft([
      { client: 11, clock: 0, origin: Y.createID(12, 0), content: any(1) },
      { client: 12, clock: 0, origin: Y.createID(11, 0), content: any(2) },
    ]);
    rejects(server, who('mia'), cycle, 'MALFORMED_MESSAGE');
  });

  it('refuses two writes to one key from the same point (only one of them would be kept)', () => {
    const server = team();
    const k = newMessageKey();
    const forged = craft([
      {
        client: 0x7ffffff0,
        clock: 0,
        parent: 'messages',
        parentSub: k,
        content: any(message('olga', 'forged', k)),
      },
      {
        client: 3,
        clock: 0,
        parent: 'messages',
        parentSub: k,
        content: any(message('mia', 'ok', k)),
      },
    ]);
    rejects(server, who('mia'), forged, 'SCHEMA_VIOLATION');
  });

  it('refuses a write that is not based on the key’s current value (a stale or crafted origin)', () => {
    const server = team();
    const stale = replica(server);
    const olga = replica(server);
    accept(
      server,
      who('olga'),
      updateOf(olga, () =>
        conversationRoots(olga).members.set('max', {
          ...conversationRoots(olga).members.get('max')!,
          role: MemberRole.Admin,
        }),
      ),
    );
    // `stale` never saw that change: its overwrite of max is based on an older item.
    const update = updateOf(stale, () =>
      conversationRoots(stale).members.set('max', {
        ...conversationRoots(stale).members.get('max')!,
        status: MemberStatus.Exited,
        exitTime: 500,
      }),
    );
    rejects(server, who('olga'), update, 'CONCURRENT_CHANGE');
  });

  it('refuses a first write to a key another write reached first (the one-write path)', () => {
    const server = team();
    const phone = replica(server);
    const laptop = replica(server);
    const k = newMessageKey();
    const set = (doc: Y.Doc, content: string) =>
      updateOf(doc, () =>
        conversationRoots(doc).messages.set(k, message('mia', content, k) as never),
      );
    const first = set(phone, 'from the phone');
    const second = set(laptop, 'from the laptop');
    accept(server, who('mia'), first);
    // Both name no origin, as a key's first write does; the key has a value now, so the second
    // would integrate to the left of it and never become the value the rules judged.
    rejects(server, who('mia'), second, 'CONCURRENT_CHANGE');
  });

  it('refuses a struct that straddles the known state', () => {
    const server = team();
    const mia = replica(server);
    const k = newMessageKey();
    accept(
      server,
      who('mia'),
      updateOf(mia, () =>
        conversationRoots(mia).messages.set(k, message('mia', 'hello', k) as never),
      ),
    );
    const c = mia.clientID;
    const avatar = currentItem(server, 'members', 'mia');
    rejects(
      server,
      who('mia'),
      craft([{ client: c, clock: 0, origin: avatar.id, content: new Y.ContentDeleted(2) }]),
      'MALFORMED_MESSAGE',
    );
  });

  it('refuses values whose __proto__ would make the rules read something peers never get', () => {
    const server = team();
    const olga = conversationRoots(server).members.get('olga')!;
    const value = JSON.parse(`{"__proto__": ${JSON.stringify(olga)}}`);
    rejects(
      server,
      who('mia'),
      craft([
        {
          client: 31337,
          clock: 0,
          origin: currentItem(server, 'members', 'olga').lastId,
          content: any(value),
        },
      ]),
      'SCHEMA_VIOLATION',
    );
  });

  it('accepts honest offline sequences whose intermediate values the client already collected', () => {
    const server = team();
    const olga = replica(server);
    const m = conversationRoots(olga).members;
    const before = Y.encodeStateVector(olga);
    olga.transact(() => m.set('mia', { ...m.get('mia')!, role: MemberRole.Admin }));
    olga.transact(() =>
      m.set('mia', { ...m.get('mia')!, status: MemberStatus.Exited, exitTime: 5 }),
    );
    olga.transact(() =>
      m.set('nina', {
        identityType: 1,
        role: 1,
        status: 1,
        joinTime: 1,
        invitedBy: asIdentityId('olga'),
      }),
    );
    olga.transact(() =>
      m.set('nina', { ...m.get('nina')!, status: MemberStatus.Exited, exitTime: 6 }),
    );
    const update = Y.encodeStateAsUpdate(olga, before);
    // The client's GC turned the overwritten values into ContentDeleted.
    expect(
      Y.decodeUpdate(update).structs.some(
        (s) => s instanceof Y.Item && s.content instanceof Y.ContentDeleted,
      ),
    ).toBe(true);
    expect(groupFilter(server, who('olga'), update).ok).toBe(true);
  });
});
