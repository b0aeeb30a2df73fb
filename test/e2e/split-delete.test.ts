/**
 * A map write carrying two values in one struct (ContentAny [v, v], judged value by value) with a
 * delete set covering only the struct's LAST clock. Yjs splits the struct there and deletes the
 * part that is the key's current value, so the key ends unset: a pure delete, which the rules
 * must judge. resolve.ts used to look at the struct's first clock only, believed the key ended
 * at v, and let a member unset keys no rule allows unsetting. Found by a hostile-member review.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import * as Y from 'yjs';
import { genesisWrites } from '../../shared/actions.js';
import { MemberRole, MemberStatus } from '../../shared/enums.js';
import { type ConversationKey, groupKey, privateKey } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import { craft, currentItem } from '../craft.js';
import {
  id,
  postMessage,
  type SyncPeer,
  startTestServer,
  syncPeer,
  type TestServer,
  waitFor,
} from '../helpers.js';

let ts: TestServer;
const peers: SyncPeer[] = [];
beforeEach(async () => {
  ts = await startTestServer();
});
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await ts.close();
});

const room = (key: ConversationKey) => ts.server.rooms.peek(key)!;

/** Two values for `root.key` in one struct of fresh clientID `client`, its last value deleted. */
function twoValuesLastDeleted(
  peer: SyncPeer,
  root: string,
  key: string,
  value: unknown,
  client: number,
) {
  const current = currentItem(peer.doc, root, key);
  return craft(
    [
      {
        client,
        clock: 0,
        origin: Y.createID(current.id.client, current.id.clock + current.length - 1),
        content: new Y.ContentAny([value, value]),
      },
    ],
    [[client, 1, 1]],
  );
}

/** Sends `update` and waits until the server either took it (client state moved) or closed. */
async function sendAndSettle(
  peer: SyncPeer,
  key: ConversationKey,
  update: Uint8Array,
  client: number,
) {
  let closed = false;
  void peer.outcome().then(() => {
    closed = true;
  });
  peer.send(update);
  await waitFor(() => closed || Y.getState(room(key).doc.store, client) > 0, 5000, 'verdict');
  await room(key).drain();
}

/** A group olga creates over sync with mia and max, with `settings` set in the genesis. */
async function team(settings: Record<string, unknown> = {}) {
  const group = groupKey();
  const olga = await syncPeer(ts, group, 'olga');
  peers.push(olga);
  const writes = genesisWrites(
    group,
    { name: 'team', members: ['mia', 'max'].map((m) => ({ identity: id(m), identityType: 1 })) },
    { id: id('olga'), type: 1 },
    Date.now(),
  );
  olga.change((doc) =>
    doc.transact(() => {
      for (const w of writes) doc.getMap(w.root).set(w.key, w.value);
      for (const [k, v] of Object.entries(settings)) doc.getMap('settings').set(k, v);
    }),
  );
  return { group, olga };
}

it('a read position cannot be unset (moved back) by a two-value write whose last value is deleted', async () => {
  const chat = privateKey(id('alice'), id('bob'));
  const alice = await syncPeer(ts, chat, 'alice');
  peers.push(alice);
  const m = postMessage(alice, 'alice', { content: 'hello' });
  await waitFor(() => conversationRoots(room(chat).doc).stamps.has(m.key), 5000, 'stamped');
  const bob = await syncPeer(ts, chat, 'bob');
  peers.push(bob);
  bob.change((doc) => conversationRoots(doc).reads.set('bob:device-one', 1));
  await waitFor(() => conversationRoots(room(chat).doc).reads.get('bob:device-one') === 1);
  await waitFor(() => conversationRoots(bob.doc).reads.get('bob:device-one') === 1);

  const client = 424242;
  await sendAndSettle(
    bob,
    chat,
    twoValuesLastDeleted(bob, 'reads', 'bob:device-one', 1, client),
    client,
  );
  // Refused whole: nothing of it in the document, and the read position is still 1.
  expect(Y.getState(room(chat).doc.store, client)).toBe(0);
  expect(conversationRoots(room(chat).doc).reads.get('bob:device-one')).toBe(1);
});

it('the owner cannot delete its own member entry (leaving the group without an owner)', async () => {
  const { group, olga } = await team();
  await waitFor(() => conversationRoots(olga.doc).meta.has('conversationId'), 5000, 'created');
  const olgaEntry = conversationRoots(olga.doc).members.get('olga')!;
  expect(olgaEntry.role).toBe(MemberRole.Owner);

  const client = 525252;
  await sendAndSettle(
    olga,
    group,
    twoValuesLastDeleted(olga, 'members', 'olga', olgaEntry, client),
    client,
  );
  // Refused: the group still has its active owner (member entries are never deleted).
  expect(Y.getState(room(group).doc.store, client)).toBe(0);
  expect(conversationRoots(room(group).doc).members.get('olga')?.status).toBe(MemberStatus.Active);
});

it('a plain member cannot delete its own entry (a silent exit where exits are not allowed)', async () => {
  const { group, olga } = await team({ allowMemberExit: false });
  await waitFor(
    () => conversationRoots(room(group).doc).meta.has('conversationId'),
    5000,
    'created',
  );
  expect(conversationRoots(room(group).doc).settings.get('allowMemberExit')).toBe(false);
  const mia = await syncPeer(ts, group, 'mia');
  peers.push(mia);
  const miaEntry = conversationRoots(mia.doc).members.get('mia')!;
  const client = 626262;
  await sendAndSettle(
    mia,
    group,
    twoValuesLastDeleted(mia, 'members', 'mia', miaEntry, client),
    client,
  );
  expect(conversationRoots(room(group).doc).members.get('mia')?.status).toBe(MemberStatus.Active);
});
