import { expect, it } from 'vitest';
import { Outbound, type OutboundSocket } from './outbound.js';

/** A socket whose writes complete only when the test says so. */
function socket() {
  const unwritten: Array<() => void> = [];
  const drops: string[] = [];
  const s: OutboundSocket & { flush(): void; drops: string[]; sent: number } = {
    drops,
    sent: 0,
    send(_frame, written) {
      s.sent += 1;
      unwritten.push(written);
    },
    drop(why) {
      drops.push(why);
    },
    flush() {
      for (const written of unwritten.splice(0)) written();
    },
  };
  return s;
}

const frame = (n: number) => new Uint8Array(n);

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

it('drops a socket over its own cap, but lets a caught-up socket take one large frame', async () => {
  const outbound = new Outbound({ perSocket: 100, total: 10_000 });
  const a = socket();
  const handle = outbound.open(a);
  handle.send(frame(500)); // holds nothing yet: a resync may be larger than the cap
  expect(a.drops).toEqual([]);
  a.flush();
  await nextTurn();
  handle.send(frame(60));
  handle.send(frame(30));
  expect(outbound.bytes).toBe(90);
  handle.send(frame(20)); // 110 > 100
  expect(a.drops).toEqual(['socket']);
  expect(outbound.bytes).toBe(0);
  handle.send(frame(1)); // forgotten: nothing more is sent
  expect(a.sent).toBe(3);
  a.flush(); // late write callbacks of a dropped socket change nothing
  expect(outbound.bytes).toBe(0);
});

it('drops the socket most behind when the total is over budget, and counts written bytes off', () => {
  const outbound = new Outbound({ perSocket: 1000, total: 150 });
  const slow = socket();
  const fast = socket();
  const slowHandle = outbound.open(slow);
  const fastHandle = outbound.open(fast);
  slowHandle.send(frame(50));
  slowHandle.send(frame(50));
  fastHandle.send(frame(40));
  fast.flush();
  expect(outbound.bytes).toBe(100);
  fastHandle.send(frame(40));
  fastHandle.send(frame(40)); // 180 > 150: slow (100 held) goes, fast keeps sending
  expect(slow.drops).toEqual(['total']);
  expect(fast.drops).toEqual([]);
  expect(outbound.bytes).toBe(80);
  fastHandle.release();
  expect(outbound.bytes).toBe(0);
});

it('lets a socket that holds only a few small frames take one frame larger than its cap', async () => {
  // A join's sync step 1 and awareness are still unwritten when the client's own step 1 is
  // answered in the same turn with a big document: that must not drop the socket.
  const outbound = new Outbound({ perSocket: 64 * 1024, total: 1024 * 1024 });
  const a = socket();
  const handle = outbound.open(a);
  handle.send(frame(40));
  handle.send(frame(200));
  handle.send(frame(155 * 1024));
  expect(a.drops).toEqual([]);
  // Now it is behind: a frame in a later turn passes the cap and drops it.
  await nextTurn();
  handle.send(frame(10));
  expect(a.drops).toEqual(['socket']);
});

it('takes what follows a frame past the cap in the same turn as one answer, then counts again', async () => {
  const outbound = new Outbound({ perSocket: 64 * 1024, total: 1024 * 1024 });
  const a = socket();
  const handle = outbound.open(a);
  handle.send(frame(100 * 1024)); // a kept document state...
  handle.send(frame(20 * 1024)); // ...and its diff, in the same turn
  expect(a.drops).toEqual([]);
  await nextTurn();
  handle.send(frame(10)); // a later turn: 120 KB held is behind
  expect(a.drops).toEqual(['socket']);
});
