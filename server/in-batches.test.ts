import { expect, it } from 'vitest';
import { inBatches, Slots, URGENT_IN_A_ROW } from './in-batches.js';

it('runs every item, never more than the limit at once, and goes on past failures', async () => {
  let running = 0;
  let most = 0;
  const done: number[] = [];
  await inBatches(
    Array.from({ length: 50 }, (_, i) => i),
    16,
    async (i) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      running -= 1;
      if (i % 7 === 0) throw new Error(`item ${i} fails`);
      done.push(i);
    },
  );
  expect(most).toBe(16);
  expect(done.length).toBe(50 - 8); // 0, 7, ..., 49 failed
  expect(running).toBe(0);
});

it('Slots: never more than the limit at once, in arrival order, and a failure frees its slot', async () => {
  const slots = new Slots(3);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      slots.run(async () => {
        started.push(i);
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 1 + (i % 3)));
        running -= 1;
        if (i % 5 === 0) throw new Error(`work ${i} fails`);
        return i;
      }),
    ),
  );
  expect(most).toBe(3);
  expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(results.filter((r) => r.status === 'rejected')).toHaveLength(4);
  expect(slots.load).toEqual({ running: 0, waiting: 0 });
  await expect(slots.run(async () => 'after')).resolves.toBe('after');
});

it('Slots: urgent work waiting goes before background work waiting', async () => {
  const slots = new Slots(1);
  const order: string[] = [];
  let release!: () => void;
  const first = slots.run(() => new Promise<void>((r) => (release = r)));
  const all = [
    slots.run(async () => void order.push('catch-up 1'), false),
    slots.run(async () => void order.push('catch-up 2'), false),
    slots.run(async () => void order.push('live 1')),
    slots.run(async () => void order.push('live 2'), true),
  ];
  release();
  await Promise.all([first, ...all]);
  expect(order).toEqual(['live 1', 'live 2', 'catch-up 1', 'catch-up 2']);
});

it('Slots: background work that is promoted while it waits goes before the other background work', async () => {
  const slots = new Slots(1);
  const order: string[] = [];
  let release!: () => void;
  const first = slots.run(() => new Promise<void>((r) => (release = r)));
  const all = [
    slots.run(async () => void order.push('catch-up a'), false, 'a'),
    slots.run(async () => void order.push('catch-up b'), false, 'b'),
    slots.run(async () => void order.push('catch-up c'), false, 'c'),
    slots.run(async () => void order.push('live'), true, 'live'),
  ];
  expect(slots.promote('c')).toBe(true);
  expect(slots.promote('c')).toBe(false); // no longer in the background
  expect(slots.promote('nobody')).toBe(false);
  release();
  await Promise.all([first, ...all]);
  expect(order).toEqual(['live', 'catch-up c', 'catch-up a', 'catch-up b']);
});

it('Slots: a steady stream of urgent work slows background work down but never stops it', async () => {
  const slots = new Slots(1);
  const order: string[] = [];
  let release!: () => void;
  const first = slots.run(() => new Promise<void>((r) => (release = r)));
  const all = [slots.run(async () => void order.push('catch-up'), false)];
  // More urgent work keeps arriving while the catch-up waits.
  for (let i = 0; i < 3 * URGENT_IN_A_ROW; i++)
    all.push(slots.run(async () => void order.push(`live ${i}`)));
  release();
  await Promise.all([first, ...all]);
  expect(order.indexOf('catch-up')).toBe(URGENT_IN_A_ROW);
  expect(order.filter((o) => o.startsWith('live'))).toHaveLength(3 * URGENT_IN_A_ROW);
});
