/**
 * GET /api/v1/people: the identities that signed in on this server (a socket or a REST call with
 * a valid token), found by id or nickname prefix, by signed-in callers only, with few fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSnapshotServer } from '../db.js';
import { sdkClient, type TestServer } from '../helpers.js';
import { restApi } from '../rest.js';

let ts: TestServer;
const rest = restApi(() => ts);

beforeAll(async () => {
  ts = await startSnapshotServer();
}, 60_000);
afterAll(async () => {
  await ts?.close();
}, 30_000);

async function people(prefix: string, who = 'alice') {
  const data = await rest.data('GET', `/people?prefix=${encodeURIComponent(prefix)}`, who);
  return data.list as Array<Record<string, unknown>>;
}

/** Sign-ins are written in the background: poll until the lookup shows what is expected. */
async function eventually(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('people lookup', () => {
  it('finds identities that signed in, by id or nickname prefix, and never one that did not', async () => {
    // bob signs in by syncing (the web app's way), alice by calling REST; carol never does.
    const bob = await sdkClient(ts.httpUrl, 'bob');
    const chat = await bob.openPrivate('alice');
    await chat.whenSynced();
    await rest.data('GET', '/people?prefix=zz', 'alice');
    await eventually(async () => (await people('b')).some((p) => p.identity === 'bob'), 'bob');

    const found = await people('B');
    expect(found).toEqual([{ identity: 'bob', identityType: 1 }]);
    expect(await people('carol')).toEqual([]);
    expect((await people('a')).map((p) => p.identity)).toEqual(['alice']);

    // A profile's nickname is searchable too; the id is still what a chat is started with.
    await chat.setProfile({ nickname: 'Robert', avatar: '/avatars/bob.png' });
    await eventually(async () => (await people('rob')).length === 1, 'nickname');
    expect(await people('rob')).toEqual([
      { identity: 'bob', identityType: 1, nickname: 'Robert', avatar: '/avatars/bob.png' },
    ]);
    // Wildcards are literal.
    expect(await people('%')).toEqual([]);
    await bob.close();
  });

  it('answers signed-in callers only, refuses an empty prefix, and limits each caller', async () => {
    const anonymous = await fetch(`${ts.httpUrl}/api/v1/people?prefix=b`);
    expect(anonymous.status).toBe(401);
    const empty = await rest.call('GET', '/people?prefix=%20', 'dora');
    expect(empty.status).toBe(400);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++)
      statuses.push((await rest.call('GET', '/people?prefix=x', 'eve')).status);
    // 30 at once, then about 3 a second.
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect((await rest.call('GET', '/people?prefix=x', 'frank')).status).toBe(200);
  });
});
