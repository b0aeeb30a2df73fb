import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { writeGenesis } from '../../shared/conversation.js';
import { asIdentityId, type MessageId, newMessageKey } from '../../shared/ids.js';
import { parseKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
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
