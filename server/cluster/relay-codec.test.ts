import { expect, it } from 'vitest';
import { PlatformRole } from '../../shared/enums.js';
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
    ],
  };
  const bytes = encodeEntry(entry);
  expect(bytes.byteLength).toBeLessThan(1200); // the broadcast once, not three times
  const back = decodeEntry(bytes);
  expect(back).toEqual(entry);
});
