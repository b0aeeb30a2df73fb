/**
 * Moderation end to end: real servers, real SDK clients and raw y-websocket peers over real
 * sockets, real LevelDB. Replace mode (what every member, the sender itself, a raw peer and the
 * disk end up with), reject mode (the SDK drops that one intent and delivers the rest), and rate
 * limits on the sync path and REST (the flooder waits and delivers everything in order; the
 * others in the same conversation notice nothing).
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, Conversation } from '../../client/index.js';
import { genesisWrites } from '../../shared/actions.js';
import type { MessageView } from '../../shared/conversation.js';
import { MessageFormat } from '../../shared/enums.js';
import type { ConvosyncError } from '../../shared/errors.js';
import { fileUrl } from '../../shared/file-url.js';
import { groupKey, privateKey } from '../../shared/keys.js';
import { type ConversationRoots, conversationRoots } from '../../shared/schema.js';
import {
  composeAs,
  id,
  type SyncPeer,
  sdkClient,
  startTestServer,
  syncPeer,
  type TestServer,
  tempDir,
  token,
  waitFor,
} from '../helpers.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

async function server(env: Record<string, string>): Promise<TestServer> {
  const ts = await startTestServer({ env });
  cleanup.push(() => ts.close());
  return ts;
}

async function client(ts: TestServer, who: string): Promise<Client> {
  const c = await sdkClient(ts.httpUrl, who);
  cleanup.push(() => c.close());
  return c;
}

async function peer(ts: TestServer, key: string, who: string): Promise<SyncPeer> {
  const p = await syncPeer(ts, key, who);
  cleanup.push(() => p.close());
  return p;
}

async function api(ts: TestServer, path: string, who: string, body?: unknown) {
  const res = await fetch(`${ts.httpUrl}/api/v1${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(who)}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as {
      code: string;
      message: string;
      data: { list: Array<{ content: string }>; seq: number } | null;
    },
  };
}

/** Every message accepted, with these contents in this order. */
const delivered = (conversation: Conversation, contents: string[]) => () => {
  const list = conversation.messages();
  return list.length === contents.length &&
    list.every((m) => !m.pending) &&
    list.every((m, i) => m.content === contents[i])
    ? list
    : undefined;
};

const text = (content: string, who: string) => composeAs(who, { content });

/** Whether `needle` occurs in any of `haystacks` as UTF-8 bytes. */
const containsBytes = (haystacks: readonly Uint8Array[], needle: string) =>
  haystacks.some((h) => Buffer.from(h).includes(Buffer.from(needle)));

/** The raw bytes of every file under `dir` (LevelDB's log, tables and manifest). */
async function filesUnder(dir: string): Promise<Uint8Array[]> {
  const files: Uint8Array[] = [];
  for (const name of await fs.readdir(dir, { recursive: true })) {
    const full = path.join(dir, name);
    if ((await fs.stat(full)).isFile()) files.push(new Uint8Array(await fs.readFile(full)));
  }
  return files;
}

describe('replace mode (the default)', () => {
  let ts: TestServer;
  beforeAll(async () => {
    const list = path.join(await tempDir(), 'words.txt');
    await fs.writeFile(list, '# one word per line\nheck\n\n');
    ts = await server({ SENSITIVE_WORDS: 'darn,傻瓜', SENSITIVE_WORDS_FILE: list });
  });

  it('bob sees stars, alice’s own view becomes starred, and no peer or disk ever holds the word', async () => {
    const alice = await client(ts, 'alice');
    const bob = await client(ts, 'bob');
    const convA = await alice.openPrivate('bob');
    const convB = await bob.openPrivate('alice');
    await convA.whenSynced();
    await convB.whenSynced();
    // A stock y-websocket-level peer of bob's records every frame the server sends it.
    const raw = await peer(ts, 'private_alice_bob', 'bob');

    await convA.send({ content: 'well DARN it' });
    await convA.send({ content: '你是傻瓜吗？' });
    const file = {
      url: fileUrl(convA.key, 'cd'.repeat(32)),
      size: 3,
      mime: 'text/plain',
      name: 'deal.txt',
    };
    await convA.send({ content: 'a heck of a deal', format: MessageFormat.File, file });
    await convA.send({ content: 'clean-marker-7f3a' });

    const expected = ['well **** it', '你是**吗？', 'a **** of a deal', 'clean-marker-7f3a'];
    const seenByBob = await waitFor(delivered(convB, expected), 10_000, 'bob sees starred');
    expect(seenByBob[2]?.file?.name).toBe('deal.txt');
    // The sender's own copy was overwritten too, and its send intents are confirmed.
    const seenByAlice = await waitFor(delivered(convA, expected), 10_000, 'alice sees starred');
    expect(seenByAlice[2]?.file?.name).toBe('deal.txt');
    await waitFor(() => convA.pendingIntents().length === 0, 5000, 'outbox drained');
    expect(seenByAlice.map((m) => m.stamp!.seq)).toEqual([1, 2, 3, 4]);

    // The raw peer got the starred text, and never the words, in any frame.
    await waitFor(
      () => conversationRoots(raw.doc).stamps.size === 4,
      5000,
      'raw peer has the stamps',
    );
    const rawContents = [...conversationRoots(raw.doc).messages.values()].map((m) => m.content);
    expect(rawContents.sort()).toEqual([...expected].sort());
    for (const word of ['DARN', '傻瓜', 'heck'])
      expect(containsBytes(raw.ws.received, word)).toBe(false);

    // Nor is any word on disk: not in the stored updates, not in LevelDB's files.
    await ts.server.rooms.peek(privateKey(id('alice'), id('bob')))?.drain();
    const stored = await ts.server.store.load(privateKey(id('alice'), id('bob')));
    const files = await filesUnder(path.join(ts.dataDir, 'docs'));
    expect(containsBytes(stored, 'clean-marker-7f3a')).toBe(true);
    expect(containsBytes(files, 'clean-marker-7f3a')).toBe(true); // the scan does see text
    for (const word of ['DARN', '傻瓜', 'heck']) {
      expect(containsBytes(stored, word)).toBe(false);
      expect(containsBytes(files, word)).toBe(false);
    }
  });

  it('a stock client that writes a word gets its own message back starred and stamped', async () => {
    const sender = await peer(ts, privateKey(id('erin'), id('finn')), 'erin');
    const message = text('oh darn, 傻瓜!', 'erin');
    sender.change((doc) => conversationRoots(doc).messages.set(message.key, message));
    await waitFor(
      () => conversationRoots(sender.doc).stamps.has(message.key),
      5000,
      'stamped at the sender',
    );
    expect(conversationRoots(sender.doc).messages.get(message.key)?.content).toBe('oh ****, **!');
  });

  it('refuses listed words in names people choose: nickname, group name, announcement, file name', async () => {
    const key = groupKey();
    const owner = await peer(ts, key, 'gina');
    const writes = genesisWrites(
      key,
      { name: 'clean', members: [{ identity: id('hal'), identityType: 1 }] },
      { id: id('gina'), type: 1 },
      Date.now(),
    );
    owner.change((doc) =>
      doc.transact(() => {
        for (const w of writes) doc.getMap(w.root).set(w.key, w.value);
      }),
    );
    await waitFor(() => ts.server.rooms.peek(key)?.doc.getMap('meta').has('conversationId'));
    const refused = async (who: string, change: (roots: ConversationRoots) => void) => {
      const p = await peer(ts, key, who);
      p.change((doc) => change(conversationRoots(doc)));
      const outcome = await p.outcome();
      expect([outcome.rejection?.code, outcome.code]).toEqual(['SENSITIVE_CONTENT', 4409]);
    };
    await refused('hal', (r) => r.profiles.set('hal', { nickname: 'darn hal' }));
    await refused('gina', (r) => r.meta.set('name', 'ＤＡＲＮ team'));
    await refused('gina', (r) =>
      r.meta.set('announcement', { text: '你是傻瓜', by: id('gina'), at: 1 }),
    );
    const file = {
      url: fileUrl(key, 'ef'.repeat(32)),
      size: 3,
      mime: 'text/plain',
      name: 'heck.txt',
    };
    const attachment = { ...text('the file', 'hal'), format: MessageFormat.File, file };
    await refused('hal', (r) => r.messages.set(attachment.key, attachment));
    const room = ts.server.rooms.peek(key)!;
    await room.drain();
    expect(room.doc.getMap('meta').get('name')).toBe('clean');
    expect(conversationRoots(room.doc).profiles.size).toBe(0);
  });

  it('refuses a group created over REST with a listed word in its name (422)', async () => {
    const created = await api(ts, '/conversations/group', 'gina', {
      name: 'heck club',
      members: [],
    });
    expect([created.status, created.body.code]).toEqual([422, 'SENSITIVE_CONTENT']);
  });

  it('a REST send is starred before it is written', async () => {
    const sent = await api(ts, '/messages/private', 'carl', {
      receiverId: 'dana',
      content: 'what the heck',
    });
    expect(sent.status).toBe(200);
    const history = await api(ts, '/messages/conversation/private_carl_dana', 'dana');
    expect(history.body.data?.list.map((m) => m.content)).toEqual(['what the ****']);
  });
});

describe('reject mode', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await server({ SENSITIVE_WORDS: 'darn,傻瓜', MODERATION_MODE: 'reject' });
  });

  it('drops the one offending intent of an offline batch; the rest arrive; bob is unaffected', async () => {
    const alice = await client(ts, 'alice');
    const bob = await client(ts, 'bob');
    const convA = await alice.openPrivate('bob');
    const convB = await bob.openPrivate('alice');
    await convA.whenSynced();
    await convB.whenSynced();
    const errors: Array<{ code: string; intent?: string }> = [];
    convA.on('error', (error: ConvosyncError, { intent }) =>
      errors.push({ code: error.code, ...(intent ? { intent: intent.id } : {}) }),
    );
    const bobStatuses: string[] = [];
    convB.on('status', (s) => bobStatuses.push(s));

    alice.goOffline();
    await waitFor(() => convA.status !== 'connected', 5000, 'alice offline');
    await convA.send({ content: 'one' });
    const bad = await convA.send({ content: 'you 傻瓜' });
    await convA.send({ content: 'three' });
    alice.goOnline();

    await waitFor(delivered(convB, ['one', 'three']), 10_000, 'bob gets the clean ones');
    await waitFor(delivered(convA, ['one', 'three']), 10_000, 'alice converges');
    expect(errors).toEqual([{ code: 'SENSITIVE_CONTENT', intent: bad.key }]);
    await waitFor(() => convA.pendingIntents().length === 0, 5000, 'outbox drained');

    // Bob's connection was never touched, and the conversation goes on both ways.
    await convB.send({ content: 'bob here' });
    await waitFor(delivered(convA, ['one', 'three', 'bob here']), 10_000, 'alice hears bob');
    expect(bobStatuses).not.toContain('closed');
  });

  it('refuses a REST send with 422 SENSITIVE_CONTENT and writes nothing', async () => {
    const refused = await api(ts, '/messages/private', 'carl', {
      receiverId: 'dana',
      content: 'DaRn',
    });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('SENSITIVE_CONTENT');
    const ok = await api(ts, '/messages/private', 'carl', { receiverId: 'dana', content: 'hi' });
    expect(ok.status).toBe(200);
    const history = await api(ts, '/messages/conversation/private_carl_dana', 'dana');
    expect(history.body.data?.list.map((m) => m.content)).toEqual(['hi']);
  });
});

describe('rate limits', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await server({ RATE_LIMIT_IDENTITY: '5/1s', RATE_LIMIT_CONVERSATION: '100/1s' });
  });

  it('a flooding SDK client waits and delivers everything in order; bob notices nothing', async () => {
    const alice = await client(ts, 'alice');
    const bob = await client(ts, 'bob');
    const convA = await alice.openPrivate('bob');
    const convB = await bob.openPrivate('alice');
    await convA.whenSynced();
    await convB.whenSynced();
    const aliceErrors: Array<{ code: string; retryInMs?: number; dropped: boolean }> = [];
    convA.on('error', (error: ConvosyncError, { intent, retryInMs }) =>
      aliceErrors.push({
        code: error.code,
        dropped: intent !== undefined,
        ...(retryInMs === undefined ? {} : { retryInMs }),
      }),
    );
    const bobErrors: string[] = [];
    const bobStatuses: string[] = [];
    convB.on('error', (error: ConvosyncError) => bobErrors.push(error.code));
    convB.on('status', (s) => bobStatuses.push(s));

    const flood = Array.from({ length: 30 }, (_, i) => `flood ${i}`);
    const chat = Array.from({ length: 5 }, (_, i) => `bob ${i}`);
    await Promise.all([
      (async () => {
        for (const content of flood) await convA.send({ content });
      })(),
      (async () => {
        for (const content of chat) {
          await convB.send({ content });
          await waitFor(
            () => convB.messages().some((m) => m.content === content && !m.pending),
            5000,
            `${content} accepted`,
          );
        }
      })(),
    ]);

    const stamped = (list: readonly MessageView[]) =>
      list.length === 35 && list.every((m) => !m.pending) ? list : undefined;
    const seenByBob = await waitFor(() => stamped(convB.messages()), 20_000, 'bob has all 35');
    const seenByAlice = await waitFor(() => stamped(convA.messages()), 20_000, 'alice has all 35');
    // Alice's 30 in the order she wrote them, and both sides agree on the whole order.
    expect(seenByBob.filter((m) => m.sender === 'alice').map((m) => m.content)).toEqual(flood);
    expect(seenByBob.filter((m) => m.sender === 'bob').map((m) => m.content)).toEqual(chat);
    expect(seenByAlice.map((m) => m.key)).toEqual(seenByBob.map((m) => m.key));
    await waitFor(() => convA.pendingIntents().length === 0, 5000, 'alice outbox drained');

    // Alice was told to wait, and nothing of hers was dropped; bob never heard of it.
    expect(aliceErrors.length).toBeGreaterThan(0);
    for (const e of aliceErrors) {
      expect(e.code).toBe('RATE_LIMITED');
      expect(e.dropped).toBe(false);
      expect(e.retryInMs).toBeGreaterThan(0);
    }
    expect(bobErrors).toEqual([]);
    expect(bobStatuses).not.toContain('closed');
  });
});

describe('rate limits, slower refill (one message a second)', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await server({ RATE_LIMIT_IDENTITY: '5/5s', RATE_LIMIT_CONVERSATION: '100/1s' });
  });

  it('a stock client over the limit gets the rejection and close 4429 with the delay', async () => {
    const flooder = await peer(ts, privateKey(id('gail'), id('hank')), 'gail');
    for (let i = 0; i < 8; i++) {
      const message = text(`m${i}`, 'gail');
      flooder.change((doc) => conversationRoots(doc).messages.set(message.key, message));
    }
    const outcome = await flooder.outcome();
    expect(outcome.code).toBe(4429);
    expect(outcome.reason).toMatch(/^RATE_LIMITED: retry in \d+ ms \(identity limit\)$/);
    expect(outcome.rejection?.code).toBe('RATE_LIMITED');
    // The burst was accepted before the close.
    await waitFor(() => conversationRoots(flooder.doc).stamps.size >= 5, 5000, 'burst stamped');
    expect(conversationRoots(flooder.doc).stamps.size).toBeLessThan(8);
  });

  it('REST answers 429 with Retry-After; the other member keeps sending; waiting works', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof api>> | undefined;
    while (!limited && statuses.length < 20) {
      const res = await api(ts, '/messages/private', 'ivan', {
        receiverId: 'jane',
        content: `r${statuses.length}`,
      });
      statuses.push(res.status);
      if (res.status !== 200) limited = res;
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(limited?.status).toBe(429);
    expect(limited?.body.code).toBe('RATE_LIMITED');
    expect(Number(limited?.retryAfter)).toBeGreaterThanOrEqual(1);

    const other = await api(ts, '/messages/private', 'jane', {
      receiverId: 'ivan',
      content: 'jane is fine',
    });
    expect(other.status).toBe(200);

    const wait = Number(/retry in (\d+) ms/.exec(limited?.body.message ?? '')?.[1]);
    expect(wait).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, wait));
    const again = await api(ts, '/messages/private', 'ivan', {
      receiverId: 'jane',
      content: 'after waiting',
    });
    expect(again.status).toBe(200);
  });
});
