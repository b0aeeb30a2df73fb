/**
 * The REST conversation endpoints: create a group, get-or-create a private chat, detail,
 * members, role, invite, remove, settings, exit, dissolve: success, permission denied, not
 * found and bad input; a connected SDK client sees REST changes at once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { MemberStatus } from '../../shared/enums.js';
import { conversationRoots } from '../../shared/schema.js';
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

interface Detail {
  conversationId: string;
  conversationKey: string;
  conversationType: string;
  conversationName: string;
  status: number;
  currentMemberCount: number;
  memberRole: number | null;
  role: number | null;
  setting: Record<string, unknown>;
}

async function api(method: string, path: string, who: string, body?: unknown) {
  const res = await fetch(`${ts.httpUrl}/api/v1/conversations${path}`, {
    method,
    headers: { authorization: `Bearer ${await token(who)}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      code: string;
      message: string;
      data: Detail & Array<{ identityId: string; status: number }>;
    },
  };
}

it('manages a group through REST, with the same rules as the sync path', async () => {
  const created = await api('POST', '/group', 'olga', {
    name: 'team',
    members: [
      { identityId: 'adam', identityType: 1 },
      { identityId: 'mia', identityType: 1 },
    ],
  });
  expect(created.status).toBe(200);
  expect(created.body.data).toMatchObject({
    conversationType: 'group',
    conversationName: 'team',
    currentMemberCount: 3,
    memberRole: 3,
  });
  const key = created.body.data.conversationKey;
  expect(created.body.data.conversationId).toMatch(/^\d+$/);

  // A member's SDK sees REST changes at once.
  const mia = await sdkClient(ts.httpUrl, 'mia');
  clients.push(mia);
  const conv = await mia.open(key);
  await conv.whenSynced();

  expect(
    (await api('POST', `/${key}/members`, 'olga', { identityId: 'nina', identityType: 1 })).status,
  ).toBe(200);
  await waitFor(
    () => conversationRoots(conv.doc).members.get('nina')?.status === MemberStatus.Active,
    5000,
    'mia sees nina',
  );
  expect(
    (await api('GET', `/${key}/members`, 'mia')).body.data.map((m) => m.identityId).sort(),
  ).toEqual(['adam', 'mia', 'nina', 'olga']);
  expect((await api('GET', `/${key}/role`, 'olga')).body.data.role).toBe(3);
  expect(
    (await api('GET', `/${created.body.data.conversationId}`, 'adam')).body.data.conversationKey,
  ).toBe(key); // by BIGINT id too

  // Permission denied, by the rules.
  expect((await api('DELETE', `/${key}/members/adam`, 'mia')).body.code).toBe('ROLE_FORBIDDEN');
  expect((await api('PUT', `/${key}/settings`, 'mia', { allowInvite: false })).body.code).toBe(
    'ROLE_FORBIDDEN',
  );
  expect((await api('PUT', `/${key}/settings`, 'olga', { allowInvite: false })).status).toBe(200);
  expect(
    (await api('POST', `/${key}/members`, 'mia', { identityId: 'zed', identityType: 1 })).body.code,
  ).toBe('INVITE_FORBIDDEN');
  expect((await api('GET', `/${key}`, 'zed')).status).toBe(403);
  expect((await api('POST', `/${key}/dissolve`, 'adam')).body.code).toBe('ROLE_FORBIDDEN');

  // Remove, exit, dissolve.
  expect((await api('DELETE', `/${key}/members/nina`, 'olga')).status).toBe(200);
  expect((await api('POST', `/${key}/exit`, 'adam')).status).toBe(200);
  expect((await api('POST', `/${key}/exit`, 'olga')).body.code).toBe('EXIT_FORBIDDEN');
  expect((await api('POST', `/${key}/dissolve`, 'olga')).status).toBe(200);
  await waitFor(
    () => conversationRoots(conv.doc).meta.get('status') === 2,
    5000,
    'mia sees the dissolve',
  );
  expect((await api('GET', `/${key}`, 'olga')).body.data).toMatchObject({
    status: 2,
    currentMemberCount: 2,
  });
});

it('gets or creates a private chat, once', async () => {
  const a = await api('POST', '/private', 'pia', { identityId: 'quin' });
  const b = await api('POST', '/private', 'quin', { identityId: 'pia' });
  expect(a.status).toBe(200);
  expect(a.body.data.conversationKey).toBe('private_pia_quin');
  // A sees B: the other party's name (its id, without a nickname).
  expect(a.body.data.conversationName).toBe('quin');
  expect(b.body.data.conversationName).toBe('pia');
  expect(b.body.data.conversationId).toBe(a.body.data.conversationId);
});

it('answers not found and bad input', async () => {
  const ghost = `group_${'0'.repeat(32)}`;
  expect((await api('GET', `/${ghost}`, 'olga')).status).toBe(404);
  expect((await api('GET', `/${ghost}/members`, 'olga')).status).toBe(404);
  expect((await api('GET', `/${ghost}/role`, 'olga')).status).toBe(404);
  expect(
    (await api('POST', `/${ghost}/members`, 'olga', { identityId: 'x', identityType: 1 })).status,
  ).toBe(404);
  expect((await api('DELETE', `/${ghost}/members/x`, 'olga')).status).toBe(404);
  expect((await api('PUT', `/${ghost}/settings`, 'olga', { allowInvite: true })).status).toBe(404);
  expect((await api('POST', `/${ghost}/exit`, 'olga')).status).toBe(404);
  expect((await api('PUT', `/${ghost}/read`, 'olga')).status).toBe(404);
  expect((await api('POST', `/${ghost}/dissolve`, 'olga')).status).toBe(404);
  expect((await api('POST', `/${ghost}/members`, 'olga', { identityId: 'x' })).status).toBe(400);
  expect((await api('GET', '/123456789', 'olga')).status).toBe(404);
  expect((await api('GET', '/not-a-key', 'olga')).status).toBe(400);
  const bad = await api('POST', '/group', 'olga', { name: '', members: [] });
  expect(bad.status).toBe(400);
  expect(bad.body.message).toMatch(/name/);
  expect((await api('POST', '/private', 'olga', { identityId: 'a_b' })).status).toBe(400);
  expect(
    (await api('PUT', `/group_${'0'.repeat(32)}/settings`, 'olga', { unknown: true })).status,
  ).toBe(400);
});

it('serves domain events to backend services, who acknowledge their position', async () => {
  await fetch(`${ts.httpUrl}/api/v1/messages/private`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await token('xena')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ receiverId: 'yuri', content: 'for the audit job' }),
  });
  await ts.server.projector!.flush();
  const service = {
    authorization: `Bearer ${await token('audit', 0, 'service')}`,
    'content-type': 'application/json',
  };
  const read = async (query: string) =>
    (await (await fetch(`${ts.httpUrl}/api/v1/events?${query}`, { headers: service })).json()) as {
      data: {
        events: Array<{ eventId: string; type: string; conversationKey: string }>;
        lastEventId: string;
      };
    };
  const all = await read('consumer=audit&limit=1000');
  const sent = all.data.events.filter(
    (e) => e.type === 'IMMessageSent' && e.conversationKey === 'private_xena_yuri',
  );
  expect(sent).toHaveLength(1);
  const ids = all.data.events.map((e) => BigInt(e.eventId));
  expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids); // in id order
  const ack = await fetch(`${ts.httpUrl}/api/v1/events/ack`, {
    method: 'POST',
    headers: service,
    body: JSON.stringify({ consumer: 'audit', lastEventId: all.data.lastEventId }),
  });
  expect(ack.status).toBe(200);
  expect((await read('consumer=audit')).data.events).toEqual([]); // nothing new after the ack
  const user = await fetch(`${ts.httpUrl}/api/v1/events`, {
    headers: { authorization: `Bearer ${await token('xena')}` },
  });
  expect(user.status).toBe(403);
  const bad = await fetch(`${ts.httpUrl}/api/v1/events/ack`, {
    method: 'POST',
    headers: service,
    body: JSON.stringify({ consumer: 'Bad Name!' }),
  });
  expect(bad.status).toBe(400);
});

it('publishes an OpenAPI document that lists every route with its request schema', async () => {
  const res = await fetch(`${ts.httpUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  const doc = (await res.json()) as {
    openapi: string;
    paths: Record<
      string,
      Record<
        string,
        {
          requestBody?: {
            content: { 'application/json': { schema: { properties: Record<string, unknown> } } };
          };
          parameters: Array<{ name: string; in: string }>;
        }
      >
    >;
  };
  expect(doc.openapi).toBe('3.1.0');
  for (const [path, method] of [
    ['/messages/private', 'post'],
    ['/messages/group', 'post'],
    ['/messages/conversation/{conversationId}', 'get'],
    ['/messages/{messageId}/recall', 'put'],
    ['/messages/{messageId}/read', 'put'],
    ['/messages/forward', 'post'],
    ['/conversations/list', 'get'],
    ['/conversations/group', 'post'],
    ['/conversations/{conversationId}/members', 'post'],
    ['/conversations/{conversationId}/members/{memberId}', 'delete'],
    ['/conversations/{conversationId}/settings', 'put'],
    ['/events/ack', 'post'],
  ] as const) {
    expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  }
  expect(
    Object.keys(
      doc.paths['/messages/private']!.post!.requestBody!.content['application/json'].schema
        .properties,
    ),
  ).toEqual(expect.arrayContaining(['receiverId', 'content', 'messageFormat', 'replyToMessageId']));
  // Response<Boolean> endpoints say so.
  expect(
    JSON.stringify(
      (doc.paths['/messages/{messageId}/recall']!.put as unknown as { responses: unknown })
        .responses,
    ),
  ).toContain('"boolean"');
  expect(doc.paths['/conversations/list']!.get!.parameters.map((p) => p.name)).toEqual(
    expect.arrayContaining(['pageNum', 'pageSize']),
  );
});

it('answers Response<Boolean> with true, and refuses unknown fields', async () => {
  const created = await api('POST', '/group', 'rex', {
    name: 'bools',
    members: [{ identityId: 'sal', identityType: 1 }],
  });
  const key = created.body.data.conversationKey;
  const calls: Array<[string, string, unknown?]> = [
    ['POST', `/${key}/members`, { identityId: 'tia', identityType: 1 }],
    ['PUT', `/${key}/settings`, { allowInvite: true }],
    ['DELETE', `/${key}/members/tia`],
    ['PUT', `/${key}/read`],
    ['POST', `/${key}/exit`],
    ['POST', `/${key}/dissolve`],
  ];
  for (const [method, path, body] of calls) {
    const who = path.endsWith('/exit') ? 'sal' : 'rex';
    const res = await api(method, path, who, body);
    expect([path, res.status, res.body.data]).toEqual([path, 200, true]);
  }
  for (const body of [
    { name: 'x', members: [], owner: 'mallory' },
    { name: 'x', members: [{ identityId: 'a', identityType: 1, role: 3 }] },
  ]) {
    const res = await api('POST', '/group', 'rex', body);
    expect([res.status, res.body.code]).toEqual([400, 'BAD_REQUEST']);
  }
});
