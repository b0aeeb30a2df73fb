/**
 * @module Frames a socket sent before they can be handled (its room still loading; in cluster
 * mode, a relayed join its owner has not answered yet), bounded in number and in bytes. A count
 * alone let one socket park 256 frames of the largest size (2 GB at the default 8 MB) while a
 * room loaded slowly, times the sockets an identity may open.
 */

/** Frames held before a socket's room is ready; more closes it with 4429 TOO_MANY_PENDING. */
export const MAX_PENDING_FRAMES = 256;

/**
 * Bytes held before a socket's room is ready: one frame of the largest size (an offline batch
 * sent on connect) and the small frames of a handshake around it.
 */
export const pendingBytesFor = (maxFrameBytes: number): number => maxFrameBytes + 256 * 1024;

export class PendingFrames {
  private held: Uint8Array[] = [];
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxFrames = MAX_PENDING_FRAMES,
  ) {}

  /** Holds `frame`; false (holding nothing more) when it would pass a bound. */
  push(frame: Uint8Array): boolean {
    if (this.held.length >= this.maxFrames || this.bytes + frame.byteLength > this.maxBytes)
      return false;
    this.held.push(frame);
    this.bytes += frame.byteLength;
    return true;
  }

  /** The frames held, in arrival order. */
  get frames(): readonly Uint8Array[] {
    return this.held;
  }

  clear(): void {
    this.held = [];
    this.bytes = 0;
  }
}
