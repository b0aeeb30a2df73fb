import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asIdentityId } from '../../shared/ids.js';
import { groupKey } from '../../shared/keys.js';
import { hasEnv, needs, redisUrlOn } from '../../test/cluster-env.js';
import type { InboxNotice } from '../inbox/inboxes.js';
import { createLogger } from '../log.js';
import { type InboxNotices, inboxChannel, startInboxNotices } from './inbox-notices.js';
import type { NodeLease } from './lease.js';
import { connectRedis, type Redis } from './redis.js';
import type { Replicas } from './replicas.js';

// A logical database no other test file uses (their FLUSHDBs would not touch it).
const DB = 14;

const until = async (what: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Closes the connection of Redis client `name` from the server's side (a network break). */
async function kill(admin: Redis, name: string): Promise<void> {
  const list = await admin.clientList();
  const client = list.find((c) => c.name === name);
  if (!client) throw new Error(`no client named ${name}`);
  await admin.clientKill({ filter: 'ID', id: Number(client.id) });
}

describe.skipIf(!hasEnv('REDIS_URL'))(`inbox notices between nodes${needs('REDIS_URL')}`, () => {
  // Not at collection: without REDIS_URL the block is skipped and this is never built.
  let url = '';
  const log = createLogger('error');
  let admin: Redis;
  const opened: Array<{ redis: Redis; notices: InboxNotices }> = [];
  const node = async (
    id: string,
    batchMs = 5,
    retryMs = 100,
    wrap: (redis: Redis) => Redis = (redis) => redis,
  ) => {
    const redis = await connectRedis(url);
    await redis.clientSetName(`main-${id}`);
    const lease = { id, owned: () => new Set<string>() } as unknown as NodeLease;
    const notices = await startInboxNotices({
      redis: wrap(redis),
      redisUrl: url,
      lease,
      replicas: {} as Replicas,
      log,
      retryMs,
      // Short, so a notice is sent before a killed connection is back (the retry is tested).
      batchMs,
    });
    const heard: InboxNotice[] = [];
    let resyncs = 0;
    notices.listen({ notice: (n) => heard.push(n), resync: () => (resyncs += 1) });
    opened.push({ redis, notices });
    return { redis, notices, heard, resyncs: () => resyncs };
  };
  beforeAll(async () => {
    url = redisUrlOn(DB);
    admin = await connectRedis(url);
  });
  afterAll(async () => {
    for (const { redis, notices } of opened) {
      await notices.close();
      await redis.close().catch(() => undefined);
    }
    await admin.close();
  });

  it('reach every other node, not the sender; malformed ones are ignored', async () => {
    const a = await node('a1');
    const b = await node('b1');
    const key = groupKey();
    a.notices.publish({ key, changed: [asIdentityId('bob')] });
    await admin.publish(inboxChannel(url), JSON.stringify({ n: 'x', k: 'nonsense', c: [] }));
    await admin.publish(inboxChannel(url), '{');
    await until(() => b.heard.length === 1);
    expect(b.heard).toEqual([{ key, changed: ['bob'] }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.heard).toEqual([]);
    expect(b.heard).toHaveLength(1);
  });

  it('sends the notices of one window as one message, and still reads one-notice messages', async () => {
    const a = await node('a4');
    const b = await node('b4');
    const listener = admin.duplicate();
    await listener.connect();
    const messages: string[] = [];
    await listener.subscribe(inboxChannel(url), (m) => messages.push(m));
    const keys = [groupKey(), groupKey(), groupKey()];
    for (const key of keys) a.notices.publish({ key, changed: [] });
    a.notices.publish({ key: keys[0]!, changed: [asIdentityId('dan')] }); // merged with the first
    await until(() => keys.every((k) => b.heard.some((n) => n.key === k)));
    await until(() => messages.some((m) => m.includes('"a4"')));
    await new Promise((r) => setTimeout(r, 100)); // a second message would have come by now
    expect(messages.filter((m) => m.includes('"a4"'))).toHaveLength(1);
    const heard = b.heard.filter((n) => keys.includes(n.key));
    expect(heard).toHaveLength(3);
    expect(heard).toEqual(
      expect.arrayContaining([
        { key: keys[0], changed: ['dan'] },
        { key: keys[1], changed: [] },
        { key: keys[2], changed: [] },
      ]),
    );
    // A node of the version before batching sends one notice per message.
    const old = groupKey();
    await admin.publish(inboxChannel(url), JSON.stringify({ n: 'old', k: old, c: ['erin'] }));
    await until(() => b.heard.some((n) => n.key === old));
    expect(b.heard.find((n) => n.key === old)?.changed).toEqual(['erin']);
    await listener.unsubscribe();
    await listener.close();
  });

  it('sends what waits in the window when it closes (a drain) or is flushed', async () => {
    const a = await node('a5', 60_000);
    const b = await node('b5');
    const [flushed, closing] = [groupKey(), groupKey()];
    a.notices.publish({ key: flushed, changed: [] });
    await a.notices.flush();
    await until(() => b.heard.some((n) => n.key === flushed));
    a.notices.publish({ key: closing, changed: [asIdentityId('fay')] });
    await a.notices.close();
    await until(() => b.heard.some((n) => n.key === closing));
  });

  it('the channel is per logical database (pub/sub is not)', () => {
    expect(inboxChannel('redis://127.0.0.1:6379/11')).toBe('cs:inbox:11');
    expect(inboxChannel('redis://127.0.0.1:6379')).toBe('cs:inbox:0');
  });

  it('a node whose subscription broke resyncs once subscribed again, and hears notices after', async () => {
    const a = await node('a2');
    const b = await node('b2');
    await kill(admin, 'cs-inbox-b2');
    await until(() => b.resyncs() === 1);
    const key = groupKey();
    a.notices.publish({ key, changed: [] });
    await until(() => b.heard.some((n) => n.key === key));
  });

  it('a notice Redis did not take is sent again once it does', async () => {
    const a = await node('a3');
    const b = await node('b3');
    const key = groupKey();
    await kill(admin, 'main-a3');
    a.notices.publish({ key, changed: [asIdentityId('carol')] });
    await until(() => b.heard.some((n) => n.key === key));
    expect(b.heard.find((n) => n.key === key)?.changed).toEqual(['carol']);
  });

  it('a close sends what waits for a retry too: a shutdown does not wait the retry out', async () => {
    // Redis refuses a's PUBLISHes while `down` (a fault injected in front of the real client).
    let down = false;
    const a = await node(
      'a6',
      5,
      60_000,
      (redis) =>
        new Proxy(redis, {
          get(target, name) {
            if (name === 'publish' && down)
              return async () => Promise.reject(new Error('Redis away'));
            const value = Reflect.get(target, name);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    );
    const b = await node('b6');
    const [refused, later] = [groupKey(), groupKey()];
    down = true;
    a.notices.publish({ key: refused, changed: [asIdentityId('gus')] });
    await new Promise((r) => setTimeout(r, 50)); // refused: the retry is 60 s away
    down = false;
    a.notices.publish({ key: later, changed: [] }); // waits for that retry
    await a.notices.close();
    await until(
      () => b.heard.some((n) => n.key === refused) && b.heard.some((n) => n.key === later),
    );
    expect(b.heard.find((n) => n.key === refused)?.changed).toEqual(['gus']);
  });

  it('closes once for callers that close at the same time', async () => {
    const a = await node('a7', 60_000);
    const b = await node('b7');
    const key = groupKey();
    a.notices.publish({ key, changed: [] });
    await Promise.all([a.notices.close(), a.notices.close()]);
    await until(() => b.heard.some((n) => n.key === key));
    expect(b.heard.filter((n) => n.key === key)).toHaveLength(1);
  });
});
