/**
 * The inbox end to end: each identity's conversation list (inbox_{id}) is kept by the server
 * from the conversations, appears in real time, and carries the identity's own pin, mute,
 * archive and draft across its devices, offline too.
 */
import { expect, it } from 'vitest';
import { memoryStore } from '../../client/store/memory.js';
import { id, serverWithClients, waitFor } from '../helpers.js';

const env = serverWithClients();
const client = env.client.bind(env);

it('a group created offline appears in every member inbox in real time, with preview and unread', async () => {
  const bob = await client('bob');
  const bobInbox = await bob.inbox();
  await bobInbox.whenSynced();
  expect(bobInbox.list()).toEqual([]);

  const alice = await client('alice', { offline: true });
  const group = await alice.createGroup({
    name: 'Weekend hike',
    members: [{ identity: 'bob', identityType: 1 }],
  });
  await group.send({ content: 'Saturday 8am?' });
  await group.send({ content: 'Bring water' });
  alice.goOnline();

  const entry = await waitFor(
    () => bobInbox.list().find((e) => e.key === group.key && e.unread === 2),
    10_000,
    'group in bob inbox',
  );
  expect(entry).toMatchObject({
    type: 'group',
    name: 'Weekend hike',
    status: 1,
    preview: { sender: 'alice', text: 'Bring water', recalled: false, system: false },
  });

  // Bob reads: his unread count drops to 0 (on every device, through the inbox).
  const bobGroup = await bob.open(group.key);
  await waitFor(() => bobGroup.messages().filter((m) => !m.pending).length >= 3, 5000, 'synced');
  await bobGroup.markRead();
  await waitFor(
    () => bobInbox.list().find((e) => e.key === group.key)?.unread === 0,
    5000,
    'unread cleared',
  );

  // A recall previews as recalled, without the text.
  const last = group.messages().find((m) => m.content === 'Bring water')!;
  await group.recall(last.key);
  await waitFor(
    () => bobInbox.list().find((e) => e.key === group.key)?.preview?.recalled === true,
    5000,
    'recalled preview',
  );
  expect(bobInbox.list().find((e) => e.key === group.key)?.preview?.text).toBe('');
});

it('private chats are named after the other party, and removal takes the entry away', async () => {
  const alice = await client('alice');
  const bob = await client('bob');
  const carol = await client('carol');
  const chat = await bob.openPrivate('alice');
  await chat.whenSynced();
  await chat.setProfile({ nickname: 'Bobby', avatar: '/avatars/bob.png' });
  await chat.send({ content: 'hi alice' });
  const aliceInbox = await alice.inbox();
  const entry = await waitFor(
    () => aliceInbox.list().find((e) => e.key === chat.key && e.name === 'Bobby'),
    5000,
    'private entry',
  );
  expect(entry).toMatchObject({ type: 'private', avatar: '/avatars/bob.png', unread: 1 });

  const group = await alice.createGroup({
    name: 'crew',
    members: [{ identity: 'carol', identityType: 1 }],
  });
  const carolInbox = await carol.inbox();
  await waitFor(() => carolInbox.list().some((e) => e.key === group.key), 5000, 'carol listed');
  await group.remove(id('carol'));
  await waitFor(() => !carolInbox.list().some((e) => e.key === group.key), 5000, 'carol unlisted');
  // Another identity's inbox cannot be opened.
  const errors: string[] = [];
  const foreign = await carol.open('inbox_alice');
  foreign.on('error', (e) => errors.push(e.code));
  await waitFor(() => errors.includes('NOT_MEMBER'), 5000, 'foreign inbox refused');
});

it('pin and mute from two offline devices of one identity both survive, and sync to each other', async () => {
  const alice = await client('alice');
  const chat = await alice.openPrivate('bob');
  await chat.send({ content: 'ping' });
  const phone = await client('bob', { storage: memoryStore() });
  const laptop = await client('bob', { storage: memoryStore() });
  const phoneInbox = await phone.inbox();
  const laptopInbox = await laptop.inbox();
  for (const inbox of [phoneInbox, laptopInbox])
    await waitFor(() => inbox.list().some((e) => e.key === chat.key), 5000, 'listed');

  phone.goOffline();
  laptop.goOffline();
  await phoneInbox.pin(chat.key);
  await laptopInbox.mute(chat.key);
  await laptopInbox.setDraft(chat.key, 'half-written reply');
  expect(phoneInbox.list()[0]).toMatchObject({ pinned: true, muted: false });
  phone.goOnline();
  laptop.goOnline();

  const errors: string[] = [];
  for (const inbox of [phoneInbox, laptopInbox])
    inbox.document.on('error', (e) => errors.push(e.code));
  for (const inbox of [phoneInbox, laptopInbox]) {
    await waitFor(
      () => {
        const e = inbox.list().find((x) => x.key === chat.key);
        return e?.pinned && e.muted && e.draft === 'half-written reply';
      },
      10_000,
      'both preferences on both devices',
    );
  }
  expect(errors).toEqual([]); // the device that lost the race replayed its intents silently
  expect(phoneInbox.totalUnread()).toBe(0); // muted conversations stay out of the badge
  await phoneInbox.archive(chat.key);
  await waitFor(() => laptopInbox.list().length === 0, 5000, 'archived elsewhere');
  expect(laptopInbox.list({ archived: true })[0]?.archived).toBe(true);
});

it('a chat deleted from the list leaves it on every device of that identity until a new message arrives', async () => {
  const alice = await client('alice');
  const chat = await alice.openPrivate('bob');
  await chat.send({ content: 'first' });
  const phone = await (await client('bob', { storage: memoryStore() })).inbox();
  const laptop = await (await client('bob', { storage: memoryStore() })).inbox();
  const listed = (inbox: typeof phone) => inbox.list().some((e) => e.key === chat.key);
  await waitFor(() => listed(phone) && listed(laptop), 10_000, 'chat listed on both devices');

  await phone.delete(chat.key);
  expect(listed(phone)).toBe(false);
  await waitFor(() => !listed(laptop), 10_000, 'deleted on the other device too');
  expect(laptop.list({ deleted: true }).some((e) => e.key === chat.key)).toBe(true);

  await chat.send({ content: 'are you there?' });
  const back = await waitFor(
    () => phone.list().find((e) => e.key === chat.key),
    10_000,
    'back with the new message',
  );
  expect(back.preview?.text).toBe('are you there?');
});
