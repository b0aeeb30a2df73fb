/**
 * @module Bytes sent to sockets but not yet written to the network, bounded per socket and for
 * the whole server. A reader that falls behind (a paused tab, a slow link) would otherwise make
 * the server hold every broadcast for it; ten of them took RSS from 150 MB to 958 MB.
 *
 * Each frame is counted from `send` until `ws` reports it written (its send callback). A socket
 * over its own cap, or the socket holding the most when the server is over its budget, is
 * dropped: its client reconnects and resyncs from sync step 1, which costs one state diff
 * instead of every frame it missed.
 */

export interface OutboundLimits {
  /** Unwritten bytes one socket may hold before it is dropped. */
  perSocket: number;
  /** Unwritten bytes all sockets together may hold; over it, the most behind is dropped. */
  total: number;
}

/** What the budget needs of a socket: send with a written-callback, and a way to drop it. */
export interface OutboundSocket {
  send(frame: Uint8Array, written: () => void): void;
  /** Drops the socket now (the budget has already forgotten it). */
  drop(reason: 'socket' | 'total', queued: number): void;
}

export interface OutboundHandle {
  /** Sends `frame`, or drops this socket (or the one most behind) when over a limit. */
  send(frame: Uint8Array): void;
  /** The socket closed: what it still held no longer counts. */
  release(): void;
}

/** Unwritten bytes a socket may hold and still take one frame larger than its cap. */
const NOT_BEHIND_BYTES = 64 * 1024;

export class Outbound {
  private total = 0;
  private readonly queued = new Map<OutboundSocket, number>();
  /** Sockets that took a frame past their cap in this turn (see `send`). */
  private readonly bursting = new Set<OutboundSocket>();
  private clearing: NodeJS.Immediate | undefined;

  /** Bytes a socket may hold and still count as not behind (see `send`). */
  private readonly notBehind: number;

  constructor(private readonly limits: OutboundLimits) {
    this.notBehind = Math.min(NOT_BEHIND_BYTES, limits.perSocket / 4);
  }

  /** Unwritten bytes held for all sockets (health, tests). */
  get bytes(): number {
    return this.total;
  }

  open(socket: OutboundSocket): OutboundHandle {
    this.queued.set(socket, 0);
    return {
      send: (frame) => this.send(socket, frame),
      release: () => this.forget(socket),
    };
  }

  private send(socket: OutboundSocket, frame: Uint8Array): void {
    const held = this.queued.get(socket);
    if (held === undefined) return;
    const size = frame.byteLength;
    // A socket that is not behind may always take one frame, however large: a resync of a big
    // document (sync step 2) must be possible whatever the cap. Not behind: it holds at most a
    // few frames, such as the sync step 1 and awareness its join sent in the very turn its
    // client's own step 1 is answered (before, a big document's client could be dropped at
    // each reconnect, depending on that timing).
    // Frames that follow it in the same turn belong to the same answer (a kept document state
    // and its diff, full-state.ts) and count as it does.
    const over = held + size > this.limits.perSocket;
    if (over && held > this.notBehind && !this.bursting.has(socket)) {
      this.forget(socket);
      socket.drop('socket', held);
      return;
    }
    if (this.total + size > this.limits.total) {
      const behind = this.mostBehind();
      if (behind && behind !== socket) {
        const amount = this.queued.get(behind) ?? 0;
        this.forget(behind);
        behind.drop('total', amount);
      }
      if (behind === socket || this.total + size > this.limits.total) {
        this.forget(socket);
        socket.drop('total', held);
        return;
      }
    }
    if (over) this.burst(socket);
    this.queued.set(socket, held + size);
    this.total += size;
    socket.send(frame, () => {
      const now = this.queued.get(socket);
      // A dropped socket's bytes were taken off when it was forgotten.
      if (now === undefined) return;
      this.queued.set(socket, now - size);
      this.total -= size;
    });
  }

  /** Until the end of this turn, `socket` may take more past its cap (see `send`). */
  private burst(socket: OutboundSocket): void {
    this.bursting.add(socket);
    this.clearing ??= setImmediate(() => {
      this.bursting.clear();
      this.clearing = undefined;
    });
  }

  private mostBehind(): OutboundSocket | undefined {
    let most: OutboundSocket | undefined;
    let amount = 0;
    for (const [socket, held] of this.queued) {
      if (held > amount) {
        most = socket;
        amount = held;
      }
    }
    return most;
  }

  private forget(socket: OutboundSocket): void {
    const held = this.queued.get(socket);
    if (held === undefined) return;
    this.bursting.delete(socket);
    this.queued.delete(socket);
    this.total -= held;
  }
}
