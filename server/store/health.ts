/**
 * @module Whether the store is writing right now, for /ready and /health. A store can be open
 * and still refuse every write (ENOSPC, EIO, a read-only remount): then readiness must go red so a
 * load balancer sends traffic elsewhere, and come back by itself once writes succeed again.
 *
 * Every write through the store reports its outcome. After a failure, nothing may write for a
 * while (the failing room was dropped), so a probe writes one small server-only value every
 * `probeMs` until a write succeeds.
 */
import { isFenced } from './fenced.js';
import type { CurrentState, DocStore } from './types.js';

export type StorageState = 'open' | 'failing' | 'closed';

export interface StorageHealth {
  readonly state: StorageState;
  /** The last write error while failing. */
  readonly error: string | undefined;
}

export function watchStore(
  store: DocStore,
  options: { probeMs: number },
): {
  store: DocStore;
  health: StorageHealth;
  /**
   * Reports the writes of `other` (cluster mode: a room's own view of the shared log) into the
   * same health: a room that cannot append turns readiness red as a failed store write does.
   */
  watch(other: DocStore): DocStore;
} {
  let failing: string | undefined;
  let probe: NodeJS.Timeout | undefined;

  const succeeded = () => {
    failing = undefined;
    clearTimeout(probe);
    probe = undefined;
  };
  const failed = (error: unknown) => {
    failing = error instanceof Error ? error.message : String(error);
    if (!probe && store.isOpen) schedule();
  };
  const schedule = () => {
    probe = setTimeout(() => {
      probe = undefined;
      if (!store.isOpen || failing === undefined) return;
      store.setMeta('storage-probe', Date.now()).then(succeeded, failed);
    }, options.probeMs);
    probe.unref();
  };
  const watched = <A extends unknown[]>(write: (...args: A) => Promise<void>) => {
    return async (...args: A) => {
      try {
        await write(...args);
      } catch (error) {
        // Fenced (cluster mode: another node owns that log now) is not the store failing.
        if (!isFenced(error)) failed(error);
        throw error;
      }
      succeeded();
    };
  };
  const writesWatched = (target: DocStore): DocStore => ({
    load: (name) => target.load(name),
    append: watched((name: string, update: Uint8Array) => target.append(name, update)),
    compact: watched((name: string, current?: CurrentState) => target.compact(name, current)),
    list: () => target.list(),
    stateVector: (name) => target.stateVector(name),
    getMeta: (key) => target.getMeta(key),
    setMeta: watched((key: string, value: string | number) => target.setMeta(key, value)),
    get isOpen() {
      return target.isOpen;
    },
    close: () => target.close(),
  });

  return {
    store: {
      ...writesWatched(store),
      get isOpen() {
        return store.isOpen;
      },
      close: () => {
        clearTimeout(probe);
        return store.close();
      },
    },
    watch: writesWatched,
    health: {
      get state() {
        if (!store.isOpen) return 'closed';
        return failing === undefined ? 'open' : 'failing';
      },
      get error() {
        return failing;
      },
    },
  };
}
