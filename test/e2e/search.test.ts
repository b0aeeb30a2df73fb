/**
 * Message search: the server's `GET /api/v1/search/messages` (Chinese and English queries,
 * scoped to the caller's readable conversations, no recalled content, removed members, history
 * visibility, filters, paging, bad input) through a real server on PGlite, or on Postgres with
 * DATABASE_URL; and the SDK's local search over a real LevelDB store, offline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { leveldbStore } from '../../client/store/leveldb.js';
import { startSnapshotServer } from '../db.js';
import {
  sdkClient,
  startTestServer,
  type TestServer,
  tempDir,
  token,
  waitFor,
} from '../helpers.js';

let ts: TestServer;
const clients: Client[] = [];

interface Hit {
  conversationKey: string;
  messageKey: string;
  messageId: string;
  seq: number;
  sender: string;
  content: string;
  createdAt: number;
}
interface Page {
  list: Hit[];
  total: number;
  pageNum: number;
  pageSize: number;
  nextCursor: string | null;
}
interface Body<T> {
  code: string;
  message: string;
  data: T;
}

async function api<T>(method: string, path: string, who: string | undefined, body?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (who) headers.authorization = `Bearer ${await token(who)}`;
  const res = await fetch(`${ts.httpUrl}/api/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Body<T> };
}

async function search(who: string, params: Record<string, string>) {
  const res = await api<Page>('GET', `/search/messages?${new URLSearchParams(params)}`, who);
  return res;
}

/** The contents `who` finds for `q` (newest first). */
async function found(who: string, q: string, extra: Record<string, string> = {}) {
  const res = await search(who, { q, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data.list.map((h) => h.content);
}

interface Sent {
  messageId: string;
  messageKey: string;
  sendTime: number;
  conversationKey: string;
}

async function sendPrivate(from: string, to: string, content: string): Promise<Sent> {
  const res = await api<Sent>('POST', '/messages/private', from, { receiverId: to, content });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

async function sendGroup(from: string, key: string, content: string): Promise<Sent> {
  const res = await api<Sent>('POST', '/messages/group', from, { conversationKey: key, content });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

async function createGroup(owner: string, name: string, members: string[]): Promise<string> {
  const res = await api<{ conversationKey: string }>('POST', '/conversations/group', owner, {
    name,
    members: members.map((identityId) => ({ identityId, identityType: 1 })),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data.conversationKey;
}

let team: string;
let recalled: Sent;

beforeAll(async () => {
  ts = await startSnapshotServer();
  // alice ↔ bob (private), a group of alice and bob (not carol), carol ↔ dave (private).
  await sendPrivate('alice', 'bob', '明天下午开会讨论预算');
  await sendPrivate('bob', 'alice', 'OK, I will bring the budget sheet');
  team = await createGroup('alice', 'team', ['bob']);
  await sendGroup('bob', team, '预算已经批准了');
  await sendGroup('alice', team, 'The BUDGET for Q3 is final');
  await sendGroup('alice', team, 'progress: 100% done_ok');
  await sendPrivate('carol', 'dave', 'carol 的预算 and her budget 下午开会');
  recalled = await sendPrivate('alice', 'bob', 'secret budget number 42');
  const recall = await api('PUT', `/messages/${recalled.messageId}/recall`, 'alice');
  expect(recall.status, JSON.stringify(recall.body)).toBe(200);
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  await ts.close();
});

describe('GET /search/messages', () => {
  it('finds a 2-character Chinese word in the caller’s conversations only, newest first', async () => {
    expect(await found('alice', '预算')).toEqual(['预算已经批准了', '明天下午开会讨论预算']);
    // carol holds 预算 in her own chat and sees only that one.
    expect(await found('carol', '预算')).toEqual(['carol 的预算 and her budget 下午开会']);
  });

  it('finds a longer Chinese phrase (trigram-indexed) and an English word, case-insensitively', async () => {
    expect(await found('alice', '下午开会')).toEqual(['明天下午开会讨论预算']);
    expect(await found('bob', '下午开会')).toEqual(['明天下午开会讨论预算']);
    expect(await found('alice', 'budget')).toEqual([
      'The BUDGET for Q3 is final',
      'OK, I will bring the budget sheet',
    ]);
    expect(await found('carol', 'BUDGET')).toEqual(['carol 的预算 and her budget 下午开会']);
    // dave shares carol's chat, not alice's.
    expect(await found('dave', 'budget')).toEqual(['carol 的预算 and her budget 下午开会']);
  });

  it('never finds recalled text', async () => {
    expect(await found('alice', 'secret budget')).toEqual([]);
    expect(await found('bob', 'number 42')).toEqual([]);
  });

  it('carries where each hit is, so the app can open it', async () => {
    const res = await search('alice', { q: '批准' });
    const [hit] = res.body.data.list;
    expect(hit).toMatchObject({
      conversationKey: team,
      sender: 'bob',
      content: '预算已经批准了',
    });
    expect(hit?.seq).toBeGreaterThan(0);
    expect(hit?.messageId).toMatch(/^\d+$/);
    expect(hit?.messageKey).toMatch(/^[0-9a-f]{32}$/);
    expect(hit?.createdAt).toBeGreaterThan(0);
  });

  it('matches % and _ literally', async () => {
    expect(await found('alice', '100%')).toEqual(['progress: 100% done_ok']);
    expect(await found('alice', 'e_o')).toEqual(['progress: 100% done_ok']);
    expect(await found('alice', '%')).toEqual(['progress: 100% done_ok']);
    expect(await found('alice', '_')).toEqual(['progress: 100% done_ok']);
  });

  it('filters by conversation, sender and format', async () => {
    expect(await found('alice', '预算', { conversationKey: team })).toEqual(['预算已经批准了']);
    expect(await found('alice', '预算', { conversationKey: 'private_alice_bob' })).toEqual([
      '明天下午开会讨论预算',
    ]);
    // A conversation alice cannot read finds nothing rather than telling it exists.
    expect(await found('alice', '预算', { conversationKey: 'private_carol_dave' })).toEqual([]);
    expect(await found('alice', 'budget', { sender: 'bob' })).toEqual([
      'OK, I will bring the budget sheet',
    ]);
    expect(await found('alice', 'budget', { format: '1' })).toEqual([]);
    expect(await found('alice', 'budget', { format: '0' })).toHaveLength(2);
  });

  it('pages newest first, with a cursor that stays put while messages arrive', async () => {
    const first = await search('alice', { q: 'e', pageSize: '2' });
    expect(first.body.data).toMatchObject({ pageNum: 1, pageSize: 2 });
    const total = first.body.data.total;
    expect(total).toBeGreaterThan(2);
    expect(first.body.data.nextCursor).toBe(first.body.data.list[1]?.messageId);
    await sendPrivate('bob', 'alice', 'one more arrives');
    const second = await search('alice', {
      q: 'e',
      pageSize: '2',
      before: first.body.data.nextCursor!,
    });
    const seen = [...first.body.data.list, ...second.body.data.list].map((h) => h.messageId);
    expect(new Set(seen).size).toBe(Math.min(total, 4));
    expect(second.body.data.total).toBe(total - 2);
    const ids = seen.map(BigInt);
    expect([...ids].sort((x, y) => (x < y ? 1 : -1))).toEqual(ids);
    const byNumber = await search('alice', { q: 'e', pageSize: '2', pageNum: '2' });
    expect(byNumber.body.data.total).toBe(total + 1);
  });

  it('a removed member no longer finds the group’s messages', async () => {
    const group = await createGroup('alice', 'short-lived', ['erin']);
    await sendGroup('alice', group, '季度预算草案 draft');
    expect(await found('erin', '预算草案')).toEqual(['季度预算草案 draft']);
    const removed = await api('DELETE', `/conversations/${group}/members/erin`, 'alice');
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(await found('erin', '预算草案')).toEqual([]);
    expect(await found('erin', 'draft')).toEqual([]);
    expect(await found('alice', '预算草案')).toEqual(['季度预算草案 draft']);
    // The group's name is only in its "created" system message, which is not searchable text.
    expect(await found('alice', 'short-lived')).toEqual([]);
  });

  it('without history, a member finds only what was sent after joining', async () => {
    const group = await createGroup('alice', 'no-history', []);
    const settings = await api('PUT', `/conversations/${group}/settings`, 'alice', {
      enableMessageHistory: false,
    });
    expect(settings.status, JSON.stringify(settings.body)).toBe(200);
    const before = await sendGroup('alice', group, 'before frank joined: roadmap');
    // The join time must fall after that acceptance for the rule to tell them apart.
    await waitFor(() => Date.now() > before.sendTime, 1000, 'the next millisecond');
    const invited = await api('POST', `/conversations/${group}/members`, 'alice', {
      identityId: 'frank',
      identityType: 1,
    });
    expect(invited.status, JSON.stringify(invited.body)).toBe(200);
    await sendGroup('alice', group, 'after frank joined: roadmap');
    expect(await found('frank', 'roadmap')).toEqual(['after frank joined: roadmap']);
    expect(await found('alice', 'roadmap')).toEqual([
      'after frank joined: roadmap',
      'before frank joined: roadmap',
    ]);
  });

  it('answers bad input with a 400 naming the field, and no token with a 401', async () => {
    const bad: Array<Record<string, string>> = [
      { q: '' },
      { q: '   ' },
      { q: 'x'.repeat(101) },
      { q: 'ok', conversationKey: 'nope' },
      { q: 'ok', sender: 'bad_id' },
      { q: 'ok', format: '9' },
      { q: 'ok', before: '-1' },
      { q: 'ok', pageSize: '1000' },
      { q: 'nul\u0000byte' },
    ];
    for (const params of bad) {
      const res = await search('alice', params);
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.body.code).toBe('BAD_REQUEST');
    }
    const missing = await api('GET', '/search/messages', 'alice');
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/^q: /);
    const tooLong = await search('alice', { q: 'x'.repeat(101) });
    expect(tooLong.body.message).toMatch(/^q: at most 100/);
    const anonymous = await api('GET', '/search/messages?q=budget', undefined);
    expect(anonymous.status).toBe(401);
  });

  it('is in the OpenAPI document, and says why without the snapshot tables', async () => {
    const res = await fetch(`${ts.httpUrl}/api/v1/openapi.json`);
    const doc = (await res.json()) as {
      paths: Record<string, { get?: { parameters: Array<{ name: string }> } }>;
    };
    const names = doc.paths['/search/messages']?.get?.parameters.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['q', 'conversationKey', 'before']));
    const plain = await startTestServer(); // SNAPSHOTS=off
    try {
      const off = await fetch(`${plain.httpUrl}/api/v1/search/messages?q=budget`, {
        headers: { authorization: `Bearer ${await token('alice')}` },
      });
      expect(off.status).toBe(503);
      expect(((await off.json()) as { code: string }).code).toBe('STORAGE_UNAVAILABLE');
    } finally {
      await plain.close();
    }
  });
});

describe('SDK local search', () => {
  it('searches every conversation the device holds, offline, without recalled text', async () => {
    const dir = `${await tempDir()}/local`;
    // Online once: the device receives alice's private chat and the team group.
    const online = await sdkClient(ts.httpUrl, 'alice', { storage: await leveldbStore(dir) });
    for (const key of ['private_alice_bob', team]) {
      const conversation = await online.open(key);
      await conversation.whenSynced();
      await waitFor(() => conversation.messages().every((m) => !m.pending), 5000, 'synced');
    }
    await online.close();

    // Offline, a new process: nothing open, no server reachable.
    const offline = await sdkClient('http://127.0.0.1:1', 'alice', {
      storage: await leveldbStore(dir),
      offline: true,
    });
    clients.push(offline);
    const texts = async (q: string) => (await offline.search(q)).map((h) => h.message.content);
    expect(await texts('预算')).toEqual(['预算已经批准了', '明天下午开会讨论预算']);
    expect(await texts('下午开会')).toEqual(['明天下午开会讨论预算']);
    expect(await texts('BUDGET')).toEqual([
      'The BUDGET for Q3 is final',
      'OK, I will bring the budget sheet',
    ]);
    expect(await texts('secret budget')).toEqual([]);
    expect(await texts('created the group')).toEqual([]);
    const [hit] = await offline.search('批准');
    expect(hit).toMatchObject({
      conversationKey: team,
      message: { sender: 'bob', pending: false },
    });

    // An open conversation is searched live: a message written offline is found at once.
    const chat = await offline.openPrivate('bob');
    await chat.send({ content: '离线写的预算备注' });
    expect(await texts('预算')).toEqual([
      '离线写的预算备注',
      '预算已经批准了',
      '明天下午开会讨论预算',
    ]);
    expect((await offline.search('预算'))[0]?.message.pending).toBe(true);
    expect(await offline.search('预算', { limit: 1 })).toHaveLength(1);

    await expect(offline.search('  ')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(offline.search('x'.repeat(101))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(offline.search('ok', { limit: 0 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });
});
