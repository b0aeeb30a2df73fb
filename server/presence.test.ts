import { describe, expect, it } from 'vitest';
import { asIdentityId } from '../shared/ids.js';
import { memoryPresence } from './presence.js';

const alice = asIdentityId('alice');
const bob = asIdentityId('bob');

describe('memoryPresence', () => {
  it('is online while any socket is open, and remembers when the last one closed', async () => {
    let now = 1000;
    const presence = memoryPresence({ now: () => now });
    expect(await presence.lookup([alice])).toEqual([
      { identity: alice, online: false, lastSeenAt: null },
    ]);
    presence.connected(alice);
    presence.connected(alice);
    now = 2000;
    presence.disconnected(alice);
    expect(await presence.lookup([alice])).toEqual([
      { identity: alice, online: true, lastSeenAt: 2000 },
    ]);
    now = 3000;
    presence.disconnected(alice);
    presence.disconnected(alice); // one too many: ignored
    now = 9000;
    expect(await presence.lookup([alice])).toEqual([
      { identity: alice, online: false, lastSeenAt: 3000 },
    ]);
  });

  it('forgets the oldest offline identities beyond maxEntries, never an online one', async () => {
    const presence = memoryPresence({ maxEntries: 2 });
    presence.connected(bob);
    for (const id of ['u1', 'u2', 'u3'].map(asIdentityId)) {
      presence.connected(id);
      presence.disconnected(id);
    }
    const [b, u1, u3] = await presence.lookup(['bob', 'u1', 'u3'].map(asIdentityId));
    expect(b).toMatchObject({ online: true });
    expect(u1).toMatchObject({ online: false, lastSeenAt: null });
    expect(u3?.lastSeenAt).toEqual(expect.any(Number));
  });
});
