/**
 * The REST message endpoints: success, permission denied, not found and bad input for each; a
 * REST send observed by a connected Yjs client; history pages that stay stable while messages
 * arrive. On PGlite, or on Postgres with DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { startSnapshotServer } from '../db.js';
import { sdkClient, type TestServer, token, waitFor } from '../helpers.js';

let ts: TestServer;
const clients: Client[] = [];

beforeAll(async () => {
  ts = await startSnapshotServer();
}, 60_000);
afterAll(async () => {
  for (const c of clients) await c.close();
  await ts.close();
});

/** The fields these tests read from `data` (each endpoint fills some of them). */
interface Data {
  conversationKey?: string;
  messageId: string;
  messageKey: string;
  replyToMessageId?: string | null;
  seq?: number;
  list: Array<{
    content: string;
    isRecalled?: boolean;
    recalledBy?: string;
    recallTime?: number | null;
    senderId?: string;
    forwardedFrom?: { conversation: string };
  }>;
  total: number;
  nextCursor: string | null;
  conversations: number;
}

async function api(method: string, path: string, who: string | undefined, body?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (who) headers.authorization = `Bearer ${await token(who)}`;
  const res = await fetch(`${ts.httpUrl}/api/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { code: string; message: string; data: Data },
  };
}

describe('POST /messages/private', () => {
  it('sends, and a connected Yjs client sees it at once', async () => {
    const bob = await sdkClient(ts.httpUrl, 'bob');
    clients.push(bob);
    const chat = await bob.openPrivate('alice');
    await chat.whenSynced();
    const res = await api('POST', '/messages/private', 'alice', {
      receiverId: 'bob',
      content: 'hello from REST',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      code: 'OK',
      data: { conversationKey: 'private_alice_bob', seq: 1 },
    });
    expect(res.body.data.messageId).toMatch(/^\d+$/);
    await waitFor(
      () => chat.messages().find((m) => m.content === 'hello from REST' && !m.pending),
      5000,
      'bob sees it',
    );
  });

  it('answers bad input with a 400 naming the field, and a missing token with 401', async () => {
    const bad = await api('POST', '/messages/private', 'alice', {
      receiverId: 'bob',
      content: 42,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('BAD_REQUEST');
    expect(bad.body.message).toMatch(/content/);
    const invalid = await api('POST', '/messages/private', 'alice', {
      receiverId: 'bob',
      content: '',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('INVALID_MESSAGE');
    const broken = await fetch(`${ts.httpUrl}/api/v1/messages/private`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token('alice')}`,
        'content-type': 'application/json',
      },
      body: '{not json',
    });
    expect(broken.status).toBe(400);
    expect(
      (await api('POST', '/messages/private', undefined, { receiverId: 'bob', content: 'x' }))
        .status,
    ).toBe(401);
  });
});

describe('POST /messages/group', () => {
  it('refuses a non-member (403) and an unknown group (404), accepts a member', async () => {
    const olga = await sdkClient(ts.httpUrl, 'olga');
    clients.push(olga);
    const team = await olga.createGroup({
      name: 'team',
      members: [{ identity: 'mia', identityType: 1 }],
    });
    await waitFor(() => team.doc.getMap('meta').has('conversationId'), 5000, 'group created');
    expect(
      (
        await api('POST', '/messages/group', 'mia', {
          conversationKey: team.key,
          content: 'hi team',
        })
      ).status,
    ).toBe(200);
    const stranger = await api('POST', '/messages/group', 'zed', {
      conversationKey: team.key,
      content: 'let me in',
    });
    expect(stranger.status).toBe(403);
    expect(stranger.body.code).toBe('NOT_MEMBER');
    const unknown = await api('POST', '/messages/group', 'mia', {
      conversationKey: `group_${'0'.repeat(32)}`,
      content: 'anyone?',
    });
    expect(unknown.status).toBe(400); // a group that does not exist only takes a genesis
    expect(
      (
        await api('POST', '/messages/group', 'mia', {
          conversationKey: 'private_alice_bob',
          content: 'x',
        })
      ).status,
    ).toBe(400);
  });
});

describe('a retried send (clientMessageKey)', () => {
  it('answers the first send’s message, writes nothing twice, and refuses the key to others', async () => {
    const key = '5e7d0c1a9b3f4e2d8c6a1b0f9e8d7c6b';
    const body = { receiverId: 'ruth', content: 'paid, thanks', clientMessageKey: key };
    const first = await api('POST', '/messages/private', 'quinn', body);
    expect(first.status).toBe(200);
    // The answer was lost; the client sends again, then once more while the first is in flight.
    const [again, once] = await Promise.all([
      api('POST', '/messages/private', 'quinn', body),
      api('POST', '/messages/private', 'quinn', body),
    ]);
    for (const retry of [again, once]) {
      expect(retry.status).toBe(200);
      expect(retry.body.data).toMatchObject({
        messageId: first.body.data.messageId,
        messageKey: key,
        seq: first.body.data.seq,
      });
    }
    const history = await api('GET', '/messages/conversation/private_quinn_ruth', 'ruth');
    expect(history.body.data.list.filter((m) => m.content === 'paid, thanks')).toHaveLength(1);
    // Other content under the same key is not a retry: messages are immutable.
    const changed = await api('POST', '/messages/private', 'quinn', { ...body, content: 'unpaid' });
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe('IMMUTABLE');
    // Nor is the key someone else's to take.
    const taken = await api('POST', '/messages/private', 'ruth', {
      receiverId: 'quinn',
      content: 'paid, thanks',
      clientMessageKey: key,
    });
    expect(taken.status).toBeGreaterThanOrEqual(400);
    const bad = await api('POST', '/messages/private', 'quinn', {
      ...body,
      clientMessageKey: 'not-a-key',
    });
    expect(bad.status).toBe(400);
  });
});

describe('history, recall and read', () => {
  it('pages newest first, stable with the cursor while messages arrive', async () => {
    for (let i = 0; i < 25; i++)
      await api('POST', '/messages/private', 'carl', { receiverId: 'dana', content: `m${i}` });
    const first = await api('GET', '/messages/conversation/private_carl_dana', 'dana');
    expect(first.status).toBe(200);
    expect(first.body.data.list).toHaveLength(20);
    expect(first.body.data.list[0]?.content).toBe('m24');
    expect(first.body.data.total).toBe(25);
    await api('POST', '/messages/private', 'carl', { receiverId: 'dana', content: 'newer' });
    const second = await api(
      'GET',
      `/messages/conversation/private_carl_dana?before=${first.body.data.nextCursor}`,
      'dana',
    );
    expect(second.body.data.list.map((m) => m.content)).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
    expect((await api('GET', '/messages/conversation/private_carl_dana', 'eve')).status).toBe(403);
    expect(
      (await api('GET', '/messages/conversation/private_carl_dana?pageSize=500', 'dana')).status,
    ).toBe(400);
  });

  it('recalls the caller’s own message, refuses another’s (403) and unknown ids (404)', async () => {
    const sent = await api('POST', '/messages/private', 'fred', {
      receiverId: 'gina',
      content: 'oops',
    });
    const id = sent.body.data.messageId;
    expect((await api('PUT', `/messages/${id}/recall`, 'gina')).body.code).toBe('RECALL_FORBIDDEN');
    const mine = await api('PUT', `/messages/${id}/recall`, 'fred');
    expect(mine.status).toBe(200);
    const history = await api('GET', '/messages/conversation/private_fred_gina', 'gina');
    expect(mine.body.data).toBe(true); // Response<Boolean>
    expect(history.body.data.list[0]).toMatchObject({
      content: '',
      isRecalled: true,
      recalledBy: 'fred',
    });
    expect(history.body.data.list[0]?.recallTime).toEqual(expect.any(Number));
    expect((await api('PUT', `/messages/${id}/recall`, 'fred')).body.code).toBe('ALREADY_RECALLED');
    expect((await api('PUT', '/messages/123456789/recall', 'fred')).status).toBe(404);
    expect((await api('PUT', '/messages/not-a-number/recall', 'fred')).status).toBe(400);
  });

  it('marks a message read, only forward, only for members', async () => {
    const a = await api('POST', '/messages/private', 'hank', {
      receiverId: 'ivy',
      content: 'one',
    });
    const b = await api('POST', '/messages/private', 'hank', {
      receiverId: 'ivy',
      content: 'two',
    });
    expect((await api('PUT', `/messages/${b.body.data.messageId}/read`, 'ivy')).body.data).toBe(
      true,
    );
    // Reading an older one changes nothing (the position stays at 2: checked in the table below).
    expect((await api('PUT', `/messages/${a.body.data.messageId}/read`, 'ivy')).body.data).toBe(
      true,
    );
    expect((await api('PUT', `/messages/${a.body.data.messageId}/read`, 'zed')).status).toBe(403);
    await ts.server.projector!.flush();
    const [row] = await ts.server.db!
      .sql`SELECT unread_count, last_read_seq FROM t_conversation_member m JOIN t_conversation c USING (conversation_id) WHERE c.conversation_key = 'private_hank_ivy' AND m.identity_id = 'ivy'`;
    expect(row).toMatchObject({ last_read_seq: '2' });
    expect(Number(row!.unread_count)).toBe(0);
  });
});

describe('GET /conversations/list', () => {
  it('lists the caller’s conversations, newest first, with unread counts and previews', async () => {
    await api('POST', '/messages/private', 'kim', { receiverId: 'lou', content: 'first chat' });
    await api('POST', '/messages/private', 'max', { receiverId: 'lou', content: 'second chat' });
    const sent = await api('POST', '/messages/private', 'kim', {
      receiverId: 'lou',
      content: 'to be recalled',
    });
    await api('PUT', `/messages/${sent.body.data.messageId}/recall`, 'kim');
    const res = await fetch(`${ts.httpUrl}/api/v1/conversations/list`, {
      headers: { authorization: `Bearer ${await token('lou')}` },
    });
    const body = (await res.json()) as {
      data: {
        total: number;
        list: Array<{
          conversationKey: string;
          unreadCount: number;
          lastMessage: { preview: string; isRecalled: boolean } | null;
        }>;
      };
    };
    expect(res.status).toBe(200);
    expect(body.data.total).toBe(2);
    expect(body.data.list.map((c) => c.conversationKey)).toEqual([
      'private_kim_lou',
      'private_lou_max',
    ]);
    // A private chat shows the other party (its id, without a nickname).
    expect(body.data.list[0]).toMatchObject({
      conversationName: 'kim',
      unreadCount: 1,
      lastMessage: { preview: '', isRecalled: true },
    });
    expect(body.data.list[1]).toMatchObject({
      conversationName: 'max',
      unreadCount: 1,
      lastMessage: { preview: 'second chat', isRecalled: false },
    });
    const none = await fetch(`${ts.httpUrl}/api/v1/conversations/list?pageSize=0`, {
      headers: { authorization: `Bearer ${await token('lou')}` },
    });
    expect(none.status).toBe(400);
  });
});

describe('GET /messages/{messageId}', () => {
  it('returns the message with the one it replies to; members only; 404 for unknown ids', async () => {
    const first = await api('POST', '/messages/private', 'nora', {
      receiverId: 'otto',
      content: 'question?',
    });
    const reply = await api('POST', '/messages/private', 'otto', {
      receiverId: 'nora',
      content: 'answer',
      replyToMessageId: first.body.data.messageId,
    });
    expect(reply.body.data.replyToMessageId).toBe(first.body.data.messageId);
    const res = await fetch(`${ts.httpUrl}/api/v1/messages/${reply.body.data.messageId}`, {
      headers: { authorization: `Bearer ${await token('nora')}` },
    });
    const body = (await res.json()) as {
      data: { content: string; replyTo: { content: string } | null };
    };
    expect(res.status).toBe(200);
    expect(body.data.content).toBe('answer');
    expect(body.data.replyTo?.content).toBe('question?');
    const stranger = await fetch(`${ts.httpUrl}/api/v1/messages/${reply.body.data.messageId}`, {
      headers: { authorization: `Bearer ${await token('zed')}` },
    });
    expect(stranger.status).toBe(403);
    const unknown = await fetch(`${ts.httpUrl}/api/v1/messages/987654321`, {
      headers: { authorization: `Bearer ${await token('nora')}` },
    });
    expect(unknown.status).toBe(404);
  });
});

describe('forward, mark a conversation read, unread statistics', () => {
  it('forwards readable messages keeping their origin, refuses unreadable ones', async () => {
    const original = await api('POST', '/messages/private', 'rita', {
      receiverId: 'sam',
      content: 'worth sharing',
    });
    const fwd = await api('POST', '/messages/forward', 'sam', {
      messageIds: [original.body.data.messageId],
      toConversationKey: 'private_sam_tom',
    });
    expect(fwd.status).toBe(200);
    const history = await api('GET', '/messages/conversation/private_sam_tom', 'tom');
    expect(history.body.data.list[0]).toMatchObject({
      content: 'worth sharing',
      senderId: 'sam',
      forwardedFrom: { conversation: 'private_rita_sam' },
    });
    const stolen = await api('POST', '/messages/forward', 'tom', {
      messageIds: [original.body.data.messageId],
      toConversationKey: 'private_sam_tom',
    });
    expect(stolen.status).toBe(422);
    expect(stolen.body.code).toBe('FORWARD_NOT_FOUND');
    expect(
      (
        await api('POST', '/messages/forward', 'sam', {
          messageIds: [],
          toConversationKey: 'private_sam_tom',
        })
      ).status,
    ).toBe(400);
  });

  it('marks a whole conversation read and reports unread statistics', async () => {
    for (const text of ['a', 'b', 'c'])
      await api('POST', '/messages/private', 'uma', { receiverId: 'vic', content: text });
    await api('POST', '/messages/private', 'walt', { receiverId: 'vic', content: 'd' });
    const before = await api('GET', '/conversations/unread', 'vic');
    expect(before.body.data).toMatchObject({ total: 4, conversations: 2 });
    const read = await api('PUT', '/conversations/private_uma_vic/read', 'vic');
    expect(read.body.data).toBe(true);
    const after = await api('GET', '/conversations/unread', 'vic');
    expect(after.body.data).toMatchObject({ total: 1, conversations: 1 });
    expect((await api('PUT', '/conversations/private_uma_vic/read', 'zed')).status).toBe(403);
  });
});

describe('the spec’s request and response shapes (seed §10, §13)', () => {
  it('accepts SEND_PRIVATE_MESSAGE’s own body and answers the NEW_MESSAGE fields', async () => {
    // Verbatim from the spec, with user ids of this test.
    const res = await api('POST', '/messages/private', 'user456', {
      receiverId: 'user123',
      content: 'Hello',
      messageFormat: 0,
      replyToMessageId: null,
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      messageId: expect.stringMatching(/^\d+$/),
      conversationId: expect.stringMatching(/^\d+$/),
      senderId: 'user456',
      content: 'Hello',
      messageFormat: 0,
      sendTime: expect.any(Number),
      conversationKey: 'private_user123_user456',
    });
    // History by the spec's BIGINT conversationId, not only by key.
    const conversationId = (res.body.data as unknown as { conversationId: string }).conversationId;
    const history = await api('GET', `/messages/conversation/${conversationId}`, 'user123');
    expect(history.status).toBe(200);
    expect(history.body.data.list.map((m) => m.content)).toEqual(['Hello']);
  });

  it('honours messageFormat, and refuses unknown fields instead of dropping them', async () => {
    await api('POST', '/messages/private', 'pia', { receiverId: 'quin', content: 'photo next' });
    const png = new Uint8Array(1234);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const uploaded = await fetch(`${ts.httpUrl}/api/v1/files/private_pia_quin?format=image`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('pia')}`, 'content-type': 'image/png' },
      body: png,
    });
    const upload = (await uploaded.json()) as { data: { file: { url: string; size: number } } };
    expect(uploaded.status, JSON.stringify(upload)).toBe(200);
    const { file } = upload.data;
    const image = await api('POST', '/messages/private', 'pia', {
      receiverId: 'quin',
      content: '',
      messageFormat: 1,
      fileUrl: file.url,
      fileSize: file.size,
      fileMime: 'image/png',
    });
    expect(image.status, JSON.stringify(image.body)).toBe(200);
    expect(image.body.data).toMatchObject({ messageFormat: 1, fileUrl: file.url });
    await ts.server.projector!.flush();
    const [row] = await ts.server.db!.sql<{ message_format: number; file_size: string }[]>`
      SELECT message_format, file_size FROM t_msg_body WHERE message_id = ${image.body.data.messageId}`;
    expect([row?.message_format, Number(row?.file_size)]).toEqual([1, 1234]);
    // An image without its file is not silently stored as text.
    const noFile = await api('POST', '/messages/private', 'pia', {
      receiverId: 'quin',
      content: 'x',
      messageFormat: 1,
    });
    expect(noFile.status).toBe(400);
    expect(noFile.body.code).toBe('INVALID_MESSAGE');
    for (const extra of [{ toIdentityId: 'quin' }, { format: 1 }, { replyTo: 'x' }, { foo: 1 }]) {
      const res = await api('POST', '/messages/private', 'pia', {
        receiverId: 'quin',
        content: 'x',
        ...extra,
      });
      expect([res.status, res.body.code]).toEqual([400, 'BAD_REQUEST']);
      expect(res.body.message).toContain(Object.keys(extra)[0]);
    }
    const groupExtra = await api('POST', '/messages/group', 'pia', {
      conversationKey: `group_${'1'.repeat(32)}`,
      content: 'x',
      sender: 'mallory',
    });
    expect([groupExtra.status, groupExtra.body.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('a reply names a message of the same conversation', async () => {
    const elsewhere = await api('POST', '/messages/private', 'rho', {
      receiverId: 'sig',
      content: 'a',
    });
    const res = await api('POST', '/messages/private', 'rho', {
      receiverId: 'tau',
      content: 'b',
      replyToMessageId: elsewhere.body.data.messageId,
    });
    expect([res.status, res.body.code]).toEqual([422, 'REPLY_NOT_FOUND']);
  });
});
