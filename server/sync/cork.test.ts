import { Socket } from 'node:net';
import { expect, it } from 'vitest';
import { corkForTick } from './cork.js';

it('corks a socket once per tick and uncorks it when the tick ends', async () => {
  const socket = new Socket();
  corkForTick(socket);
  corkForTick(socket);
  await Promise.resolve(); // promise jobs of this tick still see it corked
  expect(socket.writableCorked).toBe(1);
  await new Promise((resolve) => setImmediate(resolve));
  expect(socket.writableCorked).toBe(0);
  corkForTick(socket);
  expect(socket.writableCorked).toBe(1);
  socket.destroy();
});
