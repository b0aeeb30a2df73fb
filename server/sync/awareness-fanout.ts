/**
 * @module Coalesced awareness fan-out for one room: at most one broadcast frame per interval,
 * carrying every state that changed since the last one.
 *
 * Without it every awareness update is relayed at once to every peer, so n peers with k typers
 * cost k × n frames per round of updates; with it a room sends n frames per interval however
 * many states changed. The first change after a quiet interval goes out at once (no added
 * latency for a lone update); changes inside the interval wait for its end. The liveness echo
 * y-websocket needs (it drops a connection that hears nothing for 30 s, and the echo of its own
 * 15 s renewal is what it hears in a quiet room) still arrives, at most one interval late.
 */

export class AwarenessFanout {
  private readonly changed = new Set<number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastFlush = Number.NEGATIVE_INFINITY;

  /**
   * @param intervalMs shortest time between two broadcasts (0 sends every change at once)
   * @param broadcast sends one frame with the current states of `clientIds` to every peer
   */
  constructor(
    private readonly intervalMs: number,
    private readonly broadcast: (clientIds: number[]) => void,
  ) {}

  /** Records changed (added, updated or removed) clientIDs; broadcasts now or at the next slot. */
  add(clientIds: Iterable<number>): void {
    for (const id of clientIds) this.changed.add(id);
    if (this.timer !== undefined || this.changed.size === 0) return;
    const wait = this.lastFlush + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(this.flush, wait);
  }

  /** Drops what is pending (the room is going away). */
  destroy(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.changed.clear();
  }

  private readonly flush = (): void => {
    this.timer = undefined;
    this.lastFlush = Date.now();
    const ids = [...this.changed];
    this.changed.clear();
    this.broadcast(ids);
  };
}
