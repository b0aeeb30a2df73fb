/**
 * @module Frames sent to one socket within one tick go out in one write: the first send corks
 * the socket, and it is uncorked once the current tick's callbacks and promise jobs have run.
 *
 * A step sends its writer two frames (its stamps and the `accepted` ack), and every step that a
 * group-committed batch releases resolves in the same tick, so under load a socket gets several
 * frames per tick; each would otherwise cost its own `writev` system call.
 */
import type { Socket } from 'node:net';

const corked = new WeakSet<Socket>();

/** Corks `socket` until the end of this tick (once per tick). */
export function corkForTick(socket: Socket | undefined): void {
  if (!socket || corked.has(socket) || socket.destroyed) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(() => {
    if (corked.delete(socket)) socket.uncork();
  });
}

/** Writes what `socket` holds corked now (before a close frame, so a destroy cannot drop it). */
export function uncorkNow(socket: Socket | undefined): void {
  if (!socket || !corked.delete(socket)) return;
  socket.uncork();
}
