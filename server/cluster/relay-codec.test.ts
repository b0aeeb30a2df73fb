import { expect, it } from 'vitest';
import { PlatformRole } from '../../shared/enums.js';
import type { MessageId } from '../../shared/ids.js';
import { id } from '../../test/helpers.js';
import { decodeEntry, encodeEntry, type RelayEntry } from './relay-codec.js';

it('round-trips every relay message, and carries a frame sent to several sockets once', () => {
  const broadcast = new Uint8Array(1000).fill(7);
  const entry: RelayEntry = {
    from: '3-abcd1234',
    seq: 42,
    messages: [
      {
        t: 'join',
        peer: 1,
        room: 'group_0123',
        identity: { id: id('alice'), type: 2, role: PlatformRole.Admin },
        acks: true,
      },
      {
        t: 'join',
        peer: 2,
        room: 'private_a_b',
        identity: { id: id('bob'), type: 0 },
        acks: false,
      },
      { t: 'frame', peer: 1, frame: new Uint8Array([0, 0, 1, 0]) },
      { t: 'leave', peer: 2 },
      { t: 'send', peer: 1, frame: broadcast },
      { t: 'send', peer: 5, frame: broadcast },
      { t: 'send', peer: 6, frame: broadcast },
      { t: 'close', peer: 6, code: 'NOT_MEMBER', message: 'bob is not an active member' },
      { t: 'moved', peer: 9, owner: '3-edd70fbd' },
      {
        t: 'call',
        peer: 7,
        room: 'group_0123',
        identity: { id: id('svc'), type: 3, role: PlatformRole.Service },
        writes: [
          { root: 'messages', key: 'k1', value: { content: 'hé', card: { bizId: 'x' } } },
          { root: 'reads', key: 'r1', value: 12 },
          { root: 'members', key: 'm1', value: undefined },
        ],
        sentAt: 1_764_000_000_123.5,
        budgetMs: 5000,
      },
      {
        t: 'apply',
        peer: 9,
        room: 'group_0123',
        name: 'card',
        args: { key: '1:o-1', state: { status: 'shipped', updatedAt: 5 } },
        sentAt: 1_764_000_000_000,
        budgetMs: 5000,
      },
      { t: 'reply', peer: 7, stamps: [{ seq: 3, id: '7400000000000000001' as MessageId, at: 9 }] },
      { t: 'reply', peer: 8, code: 'NOT_MEMBER', message: 'not a member of group_0123' },
    ],
  };
  const bytes = encodeEntry(entry);
  expect(bytes.byteLength).toBeLessThan(1500); // the broadcast once, not three times
  const back = decodeEntry(bytes);
  expect(back).toEqual(entry);
});
