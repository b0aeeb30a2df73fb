/**
 * Muting is for owner and admins over members below them (checkMemberChange refuses a plain
 * member changing `mutedUntil`). Its invite branch did not look at `mutedUntil`, so a plain member
 * could mute the member it invited (or re-invited); found by a hostile-input review.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemberRole, MemberStatus } from '../../shared/enums.js';
import type { IdentityId } from '../../shared/ids.js';
import { conversationRoots, type Member } from '../../shared/schema.js';
import { startTestServer, syncPeer, type TestServer, waitFor } from '../helpers.js';
import { restApi } from '../rest.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
}, 60_000);
afterAll(async () => {
  await ts.close();
});

it('a plain member cannot mute the member it invites', async () => {
  const api = restApi(() => ts).call;
  const created = await api('POST', '/conversations/group', 'olga', {
    name: 'hunt',
    members: [{ identityId: 'mia', identityType: 1 }],
  });
  expect(created.status).toBe(200);
  const key = created.body.data.conversationKey as string;
  const mia = await syncPeer(ts, key, 'mia');
  const room = ts.server.rooms.peek(key as never)!;
  const now = Date.now();
  const zoe: Member = {
    identityType: 1,
    role: MemberRole.Member,
    status: MemberStatus.Active,
    joinTime: now,
    invitedBy: 'mia' as IdentityId,
    mutedUntil: now + 365 * 24 * 3600 * 1000,
  };
  mia.change((doc) => conversationRoots(doc).members.set('zoe', zoe));
  const outcome = Promise.race([
    mia.outcome().then((o) => o.rejection?.code ?? o.reason),
    waitFor(() => conversationRoots(room.doc).members.get('zoe') !== undefined, 5000).then(
      () => 'ACCEPTED',
    ),
  ]);
  const result = await outcome;
  const written = conversationRoots(room.doc).members.get('zoe');
  expect(
    result,
    `zoe as stored: ${JSON.stringify(written)}; a mute only owner/admins may set`,
  ).toBe('ROLE_FORBIDDEN');
  mia.close();
});
