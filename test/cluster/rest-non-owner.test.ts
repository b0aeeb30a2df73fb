/**
 * REST and server writes on a node that does not own the conversation (two nodes in this
 * process, cluster mode: the real Postgres log and Redis). The write is a call to the owner,
 * which runs the real `Room.submit`: the stamp comes back, the owner's sockets hear it, seq goes
 * on; a refusal is the owner's, with the same status and code; reads come from a copy of the
 * log that holds every acknowledged write. Before this, each of them answered 503 FENCED.
 */
import type postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { createIdGenerator } from '../../server/message-ids.js';
import { memoryStore } from '../../server/store/memory.js';
import { MessageFormat, PlatformRole } from '../../shared/enums.js';
import { parseKey, privateKey, systemKey } from '../../shared/keys.js';
import { cardKey, conversationRoots } from '../../shared/schema.js';
import { hasEnv, needs, redisUrlOn } from '../cluster-env.js';
import { id, syncPeer, type TestServer, token, waitFor } from '../helpers.js';
import { restApi } from '../rest.js';
import { useInProcessCluster } from './in-process.js';

const REDIS_DB = 9;

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `REST on a node that does not own the conversation${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    const cluster = useInProcessCluster({
      redisDb: REDIS_DB,
      env: { RATE_LIMIT_CONVERSATION: 'off' },
      nodes: [{}, {}],
    });
    const { schema } = cluster;
    let sql: postgres.Sql;
    let a: TestServer;
    let b: TestServer;
    const onA = restApi(() => a);
    const onB = restApi(() => b);
    beforeAll(() => {
      // After the cluster's own beforeAll (hooks run in the order they were registered).
      ({ sql } = cluster);
      [a, b] = cluster.nodes as [TestServer, TestServer];
    });

    /** The log rows of `key` and the node slot that wrote each. */
    const rows = (key: string) =>
      sql.unsafe<Array<{ pos: number; node: number }>>(
        `SELECT pos::int AS pos, node FROM ${schema}.doc_log WHERE doc = $1 ORDER BY pos`,
        [key],
      );

    it('a message POSTed on B into a group A owns: the stamp, A’s sockets hear it, seq goes on, B reads it at once', async () => {
      const group = await onA.data('POST', '/conversations/group', 'alice', {
        name: 'owned by A',
        members: [{ identityId: 'bob', identityType: 1 }],
      });
      const key = parseKey(group.conversationKey as string).key;
      expect(a.server.cluster!.lease.owned().has(key)).toBe(true);
      const alice = await syncPeer(a, key, 'alice'); // a socket on the owner

      const first = await onB.data('POST', '/messages/group', 'bob', {
        conversationKey: key,
        content: 'via B',
      });
      expect(first).toMatchObject({ conversationKey: key, content: 'via B' });
      expect(first.messageId).toMatch(/^\d+$/);
      const seq = first.seq as number; // after the group's creation note
      // B relayed: it neither loaded nor claimed the room.
      expect(b.server.rooms.peek(key)).toBeUndefined();
      expect(b.server.cluster!.lease.owned().has(key)).toBe(false);
      await waitFor(
        () => conversationRoots(alice.doc).stamps.get(first.messageKey)?.seq === seq,
        5000,
        'alice, on A, hears the message B took in',
      );

      const second = await onA.data('POST', '/messages/group', 'alice', {
        conversationKey: key,
        content: 'on A',
      });
      expect(second.seq).toBe(seq + 1);
      const third = await onB.data('POST', '/messages/group', 'bob', {
        conversationKey: key,
        content: 'via B again',
      });
      expect(third.seq).toBe(seq + 2);

      // Read on B right after its write: every acknowledged message, newest first.
      const page = await onB.data('GET', `/messages/conversation/${key}`, 'bob');
      expect(
        page.list.slice(0, 3).map((m: { content: string; seq: number }) => [m.seq, m.content]),
      ).toEqual([
        [seq + 2, 'via B again'],
        [seq + 1, 'on A'],
        [seq, 'via B'],
      ]);
      expect(await onB.data('GET', `/conversations/${key}`, 'bob')).toMatchObject({
        conversationKey: key,
      });
      // By its BIGINT id, on B right after B took it in: A projects it within its max delay,
      // and B's lookup waits for that instead of answering 404 at once.
      const byId = await onB.call('GET', `/messages/${third.messageId}`, 'bob');
      expect(byId.status).toBe(200);
      expect(byId.body.data).toMatchObject({ content: 'via B again' });
      // An id issued an hour ago that no message has: 404 (without waiting for projectors that
      // had that hour to project it: lookupDeadline).
      const old = await (
        await createIdGenerator(memoryStore(), 1, () => Date.now() - 3_600_000)
      ).next();
      const missing = await onB.call('GET', `/messages/${old}`, 'bob');
      expect({ status: missing.status, code: missing.body.code }).toEqual({
        status: 404,
        code: 'NOT_FOUND',
      });
      // Every row of the log was written by A (node slot 1), none by B.
      expect((await rows(key)).every((r) => r.node === 1)).toBe(true);
      expect(b.server.rooms.peek(key)).toBeUndefined();
    });

    it('a refused write on B gets the status and code it gets on A', async () => {
      const group = await onA.data('POST', '/conversations/group', 'carol', {
        name: 'members only',
        members: [{ identityId: 'dan', identityType: 1 }],
      });
      const key = parseKey(group.conversationKey as string).key;
      const body = { conversationKey: key, content: 'let me in' };
      const [onOwner, relayed] = await Promise.all([
        onA.call('POST', '/messages/group', 'eve', body),
        onB.call('POST', '/messages/group', 'eve', body),
      ]);
      expect(onOwner.status).toBe(403);
      expect({ status: relayed.status, code: relayed.body.code }).toEqual({
        status: onOwner.status,
        code: onOwner.body.code,
      });
      // A reader that may not read is refused on B as on A.
      const [readA, readB] = await Promise.all([
        onA.call('GET', `/messages/conversation/${key}`, 'eve'),
        onB.call('GET', `/messages/conversation/${key}`, 'eve'),
      ]);
      expect(readA.status).toBe(403);
      expect({ status: readB.status, code: readB.body.code }).toEqual({
        status: readA.status,
        code: readA.body.code,
      });
      expect((await rows(key)).every((r) => r.node === 1)).toBe(true);
    });

    it('a service notice posted on B lands in a system conversation A owns', async () => {
      const key = systemKey(id('dora'));
      const dora = await syncPeer(a, key, 'dora'); // A owns (and created) dora's notices
      expect(a.server.cluster!.lease.owned().has(key)).toBe(true);
      const { results } = await onB.data(
        'POST',
        '/notices',
        ['billing-job', PlatformRole.Service],
        {
          identities: ['dora'],
          content: 'your order shipped',
        },
      );
      expect(results).toEqual([
        expect.objectContaining({ identity: 'dora', conversationKey: key, seq: 1 }),
      ]);
      await waitFor(
        () =>
          [...conversationRoots(dora.doc).messages.values()].some(
            (m) => m.content === 'your order shipped',
          ),
        5000,
        'dora, on A, gets the notice',
      );
      // A card notice, then its state changed in place through B (a named server write).
      await onB.data('POST', '/notices', ['billing-job', PlatformRole.Service], {
        identities: ['dora'],
        format: MessageFormat.Card,
        card: { bizType: 7, bizId: 'order-7', title: 'Order 7' },
      });
      const cards = await onB.data(
        'POST',
        '/notices/cards',
        ['billing-job', PlatformRole.Service],
        {
          conversationKeys: [key],
          bizType: 7,
          bizId: 'order-7',
          status: 'shipped',
        },
      );
      expect(cards.results).toEqual([{ conversationKey: key, updated: true }]);
      await waitFor(
        () => conversationRoots(dora.doc).cards.get(cardKey({ bizType: 7, bizId: 'order-7' })),
        5000,
        'dora, on A, sees the card shipped',
      );
      expect(b.server.rooms.peek(key)).toBeUndefined();
      expect((await rows(key)).every((r) => r.node === 1)).toBe(true);
    });

    it('staff archive a group A owns through B; the refusal that follows is the owner’s', async () => {
      const group = await onA.data('POST', '/conversations/group', 'mia', {
        name: 'to archive',
        members: [{ identityId: 'ned', identityType: 1 }],
      });
      const key = parseKey(group.conversationKey as string).key;
      const staff = ['ops', PlatformRole.Admin] as const;
      expect(await onB.data('PUT', `/conversations/${key}/status`, staff, { status: 3 })).toBe(
        true,
      );
      const body = { conversationKey: key, content: 'x' };
      const [onOwner, relayed] = await Promise.all([
        onA.call('POST', '/messages/group', 'ned', body),
        onB.call('POST', '/messages/group', 'ned', body),
      ]);
      expect(onOwner.body.code).toBe('CONVERSATION_ARCHIVED');
      expect({ status: relayed.status, code: relayed.body.code }).toEqual({
        status: onOwner.status,
        code: onOwner.body.code,
      });
      expect(b.server.rooms.peek(key)).toBeUndefined();
    });

    it('forwards through B from a group A owns into a chat B owns (the source read from the log)', async () => {
      const group = await onA.data('POST', '/conversations/group', 'hal', {
        name: 'source on A',
        members: [{ identityId: 'ida', identityType: 1 }],
      });
      const source = parseKey(group.conversationKey as string).key;
      const original = await onA.data('POST', '/messages/group', 'hal', {
        conversationKey: source,
        content: 'worth forwarding',
      });
      const target = privateKey(id('ida'), id('jon'));
      await syncPeer(b, target, 'jon'); // B owns the target
      expect(b.server.cluster!.lease.owned().has(target)).toBe(true);
      // Message ids are looked up in the snapshot tables, which A's projector fills a moment later.
      let reply = await onB.call('POST', '/messages/forward', 'ida', {
        messageIds: [original.messageId],
        toConversationKey: target,
      });
      for (let i = 0; i < 50 && reply.status === 404; i++) {
        await new Promise((r) => setTimeout(r, 100));
        reply = await onB.call('POST', '/messages/forward', 'ida', {
          messageIds: [original.messageId],
          toConversationKey: target,
        });
      }
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body.data[0]).toMatchObject({
        conversationKey: target,
        content: 'worth forwarding',
        forwardedFrom: expect.objectContaining({ conversation: source }),
      });
      expect(b.server.rooms.peek(source)).toBeUndefined();
    });

    it('uploads and downloads through B, for a conversation A owns, by its rules', async () => {
      const group = await onA.data('POST', '/conversations/group', 'pam', {
        name: 'files on A',
        members: [{ identityId: 'quinn', identityType: 1 }],
      });
      const key = parseKey(group.conversationKey as string).key;
      const bytes = new TextEncoder().encode('minutes of the meeting');
      const files = (node: TestServer, path: string, who: string, init: RequestInit = {}) =>
        token(who).then((t) =>
          fetch(`${node.httpUrl}/api/v1/files/${path}`, {
            ...init,
            headers: { authorization: `Bearer ${t}`, ...(init.headers ?? {}) },
          }),
        );
      const upload = (who: string) =>
        files(b, `${key}?format=file&name=minutes.txt`, who, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: bytes,
        });
      const stranger = await upload('eve');
      expect(stranger.status).toBe(403);
      const uploaded = await upload('quinn');
      expect(uploaded.status).toBe(200);
      const { file } = ((await uploaded.json()) as { data: { file: { url: string } } }).data;
      const path = file.url.replace(/^.*\/api\/v1\/files\//, '');
      for (const node of [a, b]) {
        const got = await files(node, path, 'pam');
        expect(got.status).toBe(200);
        expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
      }
      const refused = await files(b, path, 'eve');
      expect(refused.status).toBe(403);
      expect(b.server.rooms.peek(key)).toBeUndefined();
    });

    it('an owner that is gone: 503 STORAGE_UNAVAILABLE (retry), nothing written; the retry lands', async () => {
      const { connectRedis } = await import('../../server/cluster/redis.js');
      const { heartbeatKey, ownerKey } = await import('../../server/cluster/lease.js');
      const { inboxStream } = await import('../../server/cluster/relay.js');
      const redis = await connectRedis(redisUrlOn(REDIS_DB));
      const key = privateKey(id('kim'), id('lou'));
      await syncPeer(a, key, 'kim'); // created (and owned) by A
      // A node that took the chat over and then hung: a live heartbeat for 1.5 s, a stream
      // nobody reads.
      await redis.set(heartbeatKey('ghost'), '1', { PX: 1500 });
      await redis.xAdd(inboxStream('ghost'), '*', { m: 'x' });
      await redis.set(ownerKey(key), 'ghost');
      const before = (await rows(key)).length;
      const started = Date.now();
      const refused = await onB.call('POST', '/messages/private', 'lou', {
        receiverId: 'kim',
        content: 'into the void',
      });
      expect({ status: refused.status, code: refused.body.code }).toEqual({
        status: 503,
        code: 'STORAGE_UNAVAILABLE',
      });
      // Answered once the heartbeat expired (checked every second), not after the 10 s budget.
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await rows(key)).length).toBe(before);
      // The client's retry: the ghost's lease is void now; a live node claims the chat and writes.
      const retried = await onB.data('POST', '/messages/private', 'lou', {
        receiverId: 'kim',
        content: 'second try',
      });
      expect(retried.seq).toBe(1);
      // Claimed by B for the retry, or by A first (its projector retries the document it lost).
      expect([a, b].filter((n) => n.server.cluster!.lease.owned().has(key))).toHaveLength(1);
      await redis.close();
    });

    it('a private chat A owns is written and marked read through B', async () => {
      const key = privateKey(id('finn'), id('gail'));
      await syncPeer(a, key, 'gail'); // A owns the chat
      const sent = await onB.data('POST', '/messages/private', 'finn', {
        receiverId: 'gail',
        content: 'hi gail',
      });
      expect(sent.seq).toBe(1);
      // A write computed from B's copy (the caller's read position) and applied on A.
      expect(await onB.data('PUT', `/conversations/${key}/read`, 'gail')).toBe(true);
      const position = await onB.data('GET', `/conversations/${key}`, 'gail');
      expect(position.conversationKey).toBe(key);
      expect(b.server.rooms.peek(key)).toBeUndefined();
      expect((await rows(key)).every((r) => r.node === 1)).toBe(true);
    });
  },
);
