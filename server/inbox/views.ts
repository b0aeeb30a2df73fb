/**
 * @module How far each earlier server view of an inbox got on devices (inbox-view.ts): one meta
 * value per inbox (`inbox-views:{inbox}`, JSON `[[clientID, clock], …]`), written when an inbox
 * unloads or the server stops (once per view, never per message), or when a device sent back
 * structs of a view it did not cover (after a crash). The room announces these clocks in its
 * state vector, so devices do not send earlier views back on every reconnect.
 *
 * Bounded: the latest KEPT views. A device that still holds structs of an older one sends them
 * on each reconnect until it learns this inbox's newer views (they are dropped, never stored).
 */
import type { DocStore } from '../store/types.js';

export const KEPT = 256;

export class EarlierViews {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly store: Pick<DocStore, 'getMeta' | 'setMeta'>) {}

  async get(inbox: string): Promise<Map<number, number>> {
    const stored = await this.store.getMeta(metaKey(inbox));
    if (typeof stored !== 'string') return new Map();
    return new Map(JSON.parse(stored) as Array<[number, number]>);
  }

  /** Merges `views` into what is stored (the greater clock of each), keeping the latest KEPT. */
  save(inbox: string, views: ReadonlyMap<number, number>): Promise<void> {
    const previous = this.chains.get(inbox) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const merged = await this.get(inbox);
        let changed = false;
        for (const [client, clock] of views) {
          if (clock <= (merged.get(client) ?? 0)) continue;
          merged.set(client, clock);
          changed = true;
        }
        if (!changed) return;
        const kept = [...merged].sort((a, b) => b[0] - a[0]).slice(0, KEPT);
        await this.store.setMeta(metaKey(inbox), JSON.stringify(kept));
      });
    this.chains.set(inbox, next);
    void next
      .catch(() => undefined)
      .then(() => {
        if (this.chains.get(inbox) === next) this.chains.delete(inbox);
      });
    return next;
  }
}

function metaKey(inbox: string): string {
  return `inbox-views:${inbox}`;
}
