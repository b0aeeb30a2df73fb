/**
 * Bad input over REST gets a clear 4xx and leaks nothing: ids past the BIGINT maximum, bodies
 * over the limit, private chats of others (existing or not), the history of a group that does
 * not exist, and the spec's "member does not exist" / "already a member". On PGlite, or on
 * Postgres with DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSnapshotServer } from '../db.js';
import { type TestServer, token } from '../helpers.js';
import { restApi } from '../rest.js';

let ts: TestServer;

beforeAll(async () => {
  ts = await startSnapshotServer();
}, 60_000);
afterAll(async () => {
  await ts.close();
});

const api = restApi(() => ts).call;

const OVER = '9999999999999999999'; // 19 digits, over 9223372036854775807
const MAX = '9223372036854775807';

describe('ids past the BIGINT maximum', () => {
  it('answer 400 on every endpoint that takes one, and the maximum itself is just not found', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['PUT', `/messages/${OVER}/recall`],
      ['PUT', `/messages/${OVER}/read`],
      ['GET', `/messages/${OVER}`],
      ['GET', `/conversations/${OVER}`],
      ['GET', `/messages/conversation/${OVER}`],
      ['POST', '/messages/forward', { messageIds: [OVER], toConversationKey: 'private_amy_ben' }],
    ];
    for (const [method, path, body] of calls) {
      const res = await api(method, path, 'amy', body);
      expect([path, res.status, res.body.code]).toEqual([path, 400, 'BAD_REQUEST']);
    }
    expect((await api('GET', `/messages/${MAX}`, 'amy')).status).toBe(404);
    expect((await api('GET', `/conversations/${MAX}`, 'amy')).body.code).toBe(
      'CONVERSATION_NOT_FOUND',
    );
  });
});

describe('request bodies', () => {
  it('refuses a 40 MB JSON body with 413, and the server stays up', async () => {
    const huge = JSON.stringify({ receiverId: 'ben', content: 'x'.repeat(40 * 1024 * 1024) });
    const res = await api('POST', '/messages/private', 'amy', huge);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('BODY_TOO_LARGE');
    expect((await fetch(`${ts.httpUrl}/health`)).status).toBe(200);
  });

  it('refuses a chunked body over the limit too (no content-length to trust)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 40) controller.close();
        else {
          sent += 1;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await fetch(`${ts.httpUrl}/api/v1/messages/private`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token('amy')}`,
        'content-type': 'application/json',
      },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('BODY_TOO_LARGE');
  });
});

describe("others' private chats", () => {
  it('answer the same whether the chat exists or not', async () => {
    const sent = await api('POST', '/messages/private', 'bob', {
      receiverId: 'carol',
      content: 'hi',
    });
    expect(sent.status).toBe(200);
    for (const path of ['/conversations/', '/messages/conversation/', '/conversations/']) {
      const existing = await api('GET', `${path}private_bob_carol`, 'eve');
      const missing = await api('GET', `${path}private_bob_dave`, 'eve');
      expect(existing.status).toBe(403);
      expect([missing.status, missing.body]).toEqual([existing.status, existing.body]);
    }
    for (const suffix of ['/members', '/role']) {
      const existing = await api('GET', `/conversations/private_bob_carol${suffix}`, 'eve');
      const missing = await api('GET', `/conversations/private_bob_dave${suffix}`, 'eve');
      expect([missing.status, missing.body]).toEqual([existing.status, existing.body]);
    }
    const readExisting = await api('PUT', '/conversations/private_bob_carol/read', 'eve');
    const readMissing = await api('PUT', '/conversations/private_bob_dave/read', 'eve');
    expect([readMissing.status, readMissing.body]).toEqual([
      readExisting.status,
      readExisting.body,
    ]);
  });
});

describe('groups that do not exist', () => {
  it('have no history: 404', async () => {
    const res = await api('GET', `/messages/conversation/group_${'ab'.repeat(16)}`, 'amy');
    expect([res.status, res.body.code]).toEqual([404, 'CONVERSATION_NOT_FOUND']);
  });
});

describe('member does not exist, already a member', () => {
  it('answers the spec errors instead of a schema violation', async () => {
    const created = await api('POST', '/conversations/group', 'olga', {
      name: 'members',
      members: [{ identityId: 'adam', identityType: 1 }],
    });
    const key = created.body.data.conversationKey as string;
    const invite = await api('POST', `/conversations/${key}/members`, 'olga', {
      identityId: 'adam',
      identityType: 1,
    });
    expect([invite.status, invite.body.code]).toEqual([409, 'ALREADY_MEMBER']);
    expect((await api('DELETE', `/conversations/${key}/members/adam`, 'olga')).status).toBe(200);
    const again = await api('DELETE', `/conversations/${key}/members/adam`, 'olga');
    expect([again.status, again.body.code]).toEqual([404, 'MEMBER_NOT_FOUND']);
    const never = await api('DELETE', `/conversations/${key}/members/zed`, 'olga');
    expect([never.status, never.body.code]).toEqual([404, 'MEMBER_NOT_FOUND']);
    // And a removed member can be invited back.
    expect(
      (
        await api('POST', `/conversations/${key}/members`, 'olga', {
          identityId: 'adam',
          identityType: 1,
        })
      ).status,
    ).toBe(200);
  });
});
