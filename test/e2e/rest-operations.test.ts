/**
 * The spec's operations that were reachable only from the SDK, now over REST with the spec's
 * names: updateMemberRole and transfer, group name/avatar/announcement, the status operations
 * (activate, mute, archive for the caller; canOperate; archiving a conversation by platform
 * staff), customer service as the customer and as an admin, updateMessageStatus,
 * muteNotification and pageIMMessages. On PGlite, or on Postgres with DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityId } from '../../shared/ids.js';
import { inboxKey } from '../../shared/keys.js';
import { conversationRoots, inboxRoots } from '../../shared/schema.js';
import { startSnapshotServer } from '../db.js';
import { sdkClient, type TestServer, waitFor } from '../helpers.js';
import { restApi } from '../rest.js';

let ts: TestServer;

beforeAll(async () => {
  ts = await startSnapshotServer();
}, 60_000);
afterAll(async () => {
  await ts.close();
});

const api = restApi(() => ts).call;

const group = (owner: string, members: string[]) => restApi(() => ts).group(owner, members, 'ops');

async function roles(key: string, who: string): Promise<Record<string, number>> {
  const res = await api('GET', `/conversations/${key}/members`, who);
  return Object.fromEntries(
    (res.body.data as Array<{ identityId: string; role: number; status: number }>)
      .filter((m) => m.status === 1)
      .map((m) => [m.identityId, m.role]),
  );
}

describe('members and group info', () => {
  it('updateMemberRole, with the role rules (README: Role changes)', async () => {
    const key = await group('olga', ['adam', 'mia', 'max']);
    const role = (by: string, member: string, memberRole: number) =>
      api('PUT', `/conversations/${key}/members/${member}/role`, by, { memberRole });
    expect((await role('olga', 'adam', 2)).body.data).toBe(true);
    expect((await role('olga', 'mia', 2)).body.data).toBe(true);
    expect(await roles(key, 'olga')).toEqual({ olga: 3, adam: 2, mia: 2, max: 1 });
    // An admin sets another admin back to plain member, but never appoints one.
    expect((await role('adam', 'mia', 1)).status).toBe(200);
    const appoint = await role('adam', 'max', 2);
    expect([appoint.status, appoint.body.code]).toEqual([403, 'ROLE_FORBIDDEN']);
    const plain = await role('max', 'adam', 1);
    expect([plain.status, plain.body.code]).toEqual([403, 'ROLE_FORBIDDEN']);
    expect(await roles(key, 'olga')).toEqual({ olga: 3, adam: 2, mia: 1, max: 1 });
    expect((await role('olga', 'zed', 2)).body.code).toBe('MEMBER_NOT_FOUND');
    expect((await role('olga', 'adam', 3)).status).toBe(400); // owner only by a transfer
  });

  it('invites several members at once (inviteMembersToGroup), all or none', async () => {
    const key = await group('olga', ['adam']);
    const both = await api('POST', `/conversations/${key}/members`, 'olga', {
      members: [
        { identityId: 'kai', identityType: 1 },
        { identityId: 'lea', identityType: 1 },
      ],
    });
    expect([both.status, both.body.data]).toEqual([200, true]);
    const clash = await api('POST', `/conversations/${key}/members`, 'olga', {
      members: [
        { identityId: 'ned', identityType: 1 },
        { identityId: 'adam', identityType: 1 },
      ],
    });
    expect([clash.status, clash.body.code]).toEqual([409, 'ALREADY_MEMBER']);
    expect(Object.keys(await roles(key, 'olga')).sort()).toEqual(['adam', 'kai', 'lea', 'olga']);
  });

  it('transfers ownership; the old owner becomes an admin', async () => {
    const key = await group('olga', ['adam']);
    const refused = await api('POST', `/conversations/${key}/transfer`, 'adam', {
      memberId: 'adam',
    });
    expect(refused.status).toBe(403);
    const res = await api('POST', `/conversations/${key}/transfer`, 'olga', { memberId: 'adam' });
    expect([res.status, res.body.data]).toEqual([200, true]);
    expect(await roles(key, 'adam')).toEqual({ olga: 2, adam: 3 });
  });

  it('sets the group name, avatar and announcement', async () => {
    const key = await group('olga', ['mia']);
    const res = await api('PUT', `/conversations/${key}/info`, 'olga', {
      conversationName: 'Renamed',
      conversationAvatar: 'https://cdn.example/g.png',
      announcement: 'Meeting at 9',
    });
    expect([res.status, res.body.data]).toEqual([200, true]);
    const detail = await api('GET', `/conversations/${key}`, 'mia');
    expect(detail.body.data).toMatchObject({
      conversationName: 'Renamed',
      conversationAvatar: 'https://cdn.example/g.png',
      announcement: { text: 'Meeting at 9', by: 'olga' },
    });
    expect(
      (await api('PUT', `/conversations/${key}/info`, 'mia', { announcement: 'x' })).status,
    ).toBe(403);
    expect((await api('PUT', `/conversations/${key}/info`, 'olga', { name: 'x' })).status).toBe(
      400,
    );
  });
});

describe('status operations', () => {
  it('activate, mute and archive the caller’s view, synced through its inbox', async () => {
    const key = await group('olga', ['mia']);
    const prefs = async () => {
      const inbox = await ts.server.rooms.borrow(inboxKey('mia' as IdentityId));
      try {
        return inboxRoots(inbox.doc).prefs.get(key);
      } finally {
        inbox.release();
      }
    };
    expect((await api('POST', `/conversations/${key}/mute`, 'mia')).body.data).toBe(true);
    expect((await api('POST', `/conversations/${key}/archive`, 'mia')).body.data).toBe(true);
    expect(await prefs()).toEqual({ muted: true, archived: true });
    expect((await api('POST', `/conversations/${key}/activate`, 'mia')).body.data).toBe(true);
    expect(await prefs()).toEqual({ muted: false, archived: false });
    expect((await api('POST', `/conversations/${key}/mute`, 'zed')).status).toBe(403);
  });

  it('platform staff archive a conversation: read-only, reported clearly; canOperate says so', async () => {
    const key = await group('olga', ['mia']);
    const send = () =>
      api('POST', '/messages/group', 'mia', { conversationKey: key, content: 'hello' });
    const can = async (operation: string) =>
      (await api('GET', `/conversations/${key}/can-operate?operation=${operation}`, 'mia')).body
        .data;
    expect(await can('send')).toBe(true);
    const byUser = await api('PUT', `/conversations/${key}/status`, 'olga', { status: 3 });
    expect([byUser.status, byUser.body.code]).toEqual([403, 'FORBIDDEN_STAFF_ONLY']);
    const archived = await api('PUT', `/conversations/${key}/status`, ['ops', 'admin'], {
      status: 3,
    });
    expect([archived.status, archived.body.data]).toEqual([200, true]);
    const refused = await send();
    expect([refused.status, refused.body.code]).toEqual([409, 'CONVERSATION_ARCHIVED']);
    const invite = await api('POST', `/conversations/${key}/members`, 'olga', {
      identityId: 'zoe',
      identityType: 1,
    });
    expect(invite.body.code).toBe('CONVERSATION_ARCHIVED');
    expect(await can('send')).toBe(false);
    expect(await can('read')).toBe(true);
    expect((await api('GET', `/conversations/${key}`, 'mia')).body.data.status).toBe(3);
    await ts.server.projector!.flush();
    const [row] = await ts.server.db!.sql<
      { status: number }[]
    >`SELECT status FROM t_conversation WHERE conversation_key = ${key}`;
    expect(row?.status).toBe(3);
    // Back to normal, by a backend service this time.
    expect(
      (await api('PUT', `/conversations/${key}/status`, ['job', 'service'], { status: 1 })).status,
    ).toBe(200);
    expect((await send()).status).toBe(200);
    expect(
      (await api('GET', `/conversations/${key}/can-operate?operation=fly`, 'mia')).status,
    ).toBe(400);
  });

  it('muteNotification is the caller’s own, projected to its member row', async () => {
    const key = await group('olga', ['mia']);
    const res = await api('PUT', `/conversations/${key}/mute-notification`, 'mia', {
      muteNotification: true,
    });
    expect([res.status, res.body.data]).toEqual([200, true]);
    await ts.server.projector!.flush();
    const [row] = await ts.server.db!.sql<{ mute_notification: boolean }[]>`
      SELECT m.mute_notification FROM t_conversation_member m JOIN t_conversation c USING (conversation_id)
      WHERE c.conversation_key = ${key} AND m.identity_id = 'mia'`;
    expect(row?.mute_notification).toBe(true);
  });
});

describe('customer service', () => {
  it('the customer writes, an admin answers by customerId and lists the open conversations', async () => {
    const asked = await api('POST', '/messages/assistant', 'cust', {
      content: 'Where is my order?',
      messageFormat: 0,
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(200);
    expect(asked.body.data.conversationKey).toBe('assistant_cust');
    const answered = await api('POST', '/messages/assistant', ['agent', 'admin'], {
      customerId: 'cust',
      content: 'On its way',
    });
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    expect(answered.body.data.senderId).toBe('agent');
    const meddler = await api('POST', '/messages/assistant', 'eve', {
      customerId: 'cust',
      content: 'hi',
    });
    expect(meddler.status).toBe(403);
    const list = await api('GET', '/conversations/assistant/list', ['agent', 'admin']);
    expect(list.status).toBe(200);
    expect(list.body.data.list).toContainEqual(
      expect.objectContaining({
        conversationKey: 'assistant_cust',
        customerId: 'cust',
        answeredBy: ['agent'],
      }),
    );
    expect((await api('GET', '/conversations/assistant/list', 'cust')).status).toBe(403);
  });
});

describe('messages', () => {
  it('updateMessageStatus: 1 delivered, 2 read, for the caller', async () => {
    const sent = await api('POST', '/messages/private', 'pam', {
      receiverId: 'rob',
      content: 'hi',
    });
    const id = sent.body.data.messageId;
    expect((await api('PUT', `/messages/${id}/status`, 'rob', { status: 1 })).body.data).toBe(true);
    const room = await ts.server.rooms.borrow('private_pam_rob');
    try {
      expect([...conversationRoots(room.doc).delivered.values()]).toEqual([1]);
      expect([...conversationRoots(room.doc).reads.values()]).toEqual([]);
    } finally {
      room.release();
    }
    expect((await api('PUT', `/messages/${id}/status`, 'rob', { status: 2 })).body.data).toBe(true);
    await ts.server.projector!.flush();
    const [row] = await ts.server.db!.sql<{ last_read_message_id: string }[]>`
      SELECT m.last_read_message_id FROM t_conversation_member m JOIN t_conversation c USING (conversation_id)
      WHERE c.conversation_key = 'private_pam_rob' AND m.identity_id = 'rob'`;
    expect(row?.last_read_message_id).toBe(id);
    expect((await api('PUT', `/messages/${id}/status`, 'rob', { status: 3 })).status).toBe(400);
    expect((await api('PUT', `/messages/${id}/status`, 'zed', { status: 2 })).status).toBe(403);
  });

  it('pageIMMessages: the caller’s messages across conversations, newest first', async () => {
    await api('POST', '/messages/private', 'uli', { receiverId: 'val', content: 'one' });
    const two = await api('POST', '/messages/private', 'wes', {
      receiverId: 'val',
      content: 'two',
    });
    await api('POST', '/messages/private', 'val', { receiverId: 'uli', content: 'three' });
    const all = await api('GET', '/messages/im', 'val');
    expect(all.status).toBe(200);
    expect(all.body.data.list.map((m: { content: string }) => m.content)).toEqual([
      'three',
      'two',
      'one',
    ]);
    expect(all.body.data.total).toBe(3);
    const one = await api(
      'GET',
      `/messages/im?conversationId=${two.body.data.conversationId}`,
      'val',
    );
    expect(one.body.data.list).toEqual([
      expect.objectContaining({ content: 'two', senderId: 'wes', messageFormat: 0 }),
    ]);
    expect((await api('GET', '/messages/im', 'uli')).body.data.total).toBe(2);
  });
});

describe('settings that act', () => {
  it('enableNotification and muteNotification decide the inbox entry’s notify flag', async () => {
    const key = await group('olga', ['mia', 'max']);
    const notify = async (who: string) => {
      await ts.server.inboxes.flush();
      const inbox = await ts.server.rooms.borrow(inboxKey(who as IdentityId));
      try {
        return inboxRoots(inbox.doc).entries.get(key)?.notify;
      } finally {
        inbox.release();
      }
    };
    expect([await notify('mia'), await notify('max')]).toEqual([true, true]);
    await api('PUT', `/conversations/${key}/mute-notification`, 'mia', { muteNotification: true });
    expect([await notify('mia'), await notify('max')]).toEqual([false, true]);
    await api('PUT', `/conversations/${key}/settings`, 'olga', { enableNotification: false });
    expect([await notify('olga'), await notify('max')]).toEqual([false, false]);
  });

  it('a member avatar is projected, and at most 255 characters (the column’s size)', async () => {
    const key = await group('olga', ['mia']);
    const mia = await sdkClient(ts.httpUrl, 'mia');
    try {
      const chat = await mia.open(key);
      await chat.whenSynced();
      await expect(chat.setProfile({ avatar: `https://x/${'a'.repeat(300)}` })).rejects.toThrow(
        /255/,
      );
      await chat.setProfile({ avatar: 'https://cdn.example/mia.png' });
      const room = await ts.server.rooms.borrow(key);
      try {
        await waitFor(
          () => conversationRoots(room.doc).profiles.get('mia')?.avatar !== undefined,
          5000,
          'the server has the profile',
        );
        // Durable (a read runs between queue steps), so the projector has been told.
        await room.read(() => undefined);
      } finally {
        room.release();
      }
    } finally {
      await mia.close();
    }
    await ts.server.projector!.flush();
    const [row] = await ts.server.db!.sql<{ avatar: string | null }[]>`
      SELECT m.avatar FROM t_conversation_member m JOIN t_conversation c USING (conversation_id)
      WHERE c.conversation_key = ${key} AND m.identity_id = 'mia'`;
    expect(row?.avatar).toBe('https://cdn.example/mia.png');
  });
});
