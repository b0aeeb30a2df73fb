/**
 * @module Which conversations each identity's inbox lists: the one durable part of the inbox the
 * server derives (entries are computed when an inbox opens, inbox-view.ts). It changes only
 * when the identity joins or leaves a conversation, so a message costs no write here.
 *
 * Kept as one server-only meta value per identity (`inbox-list:{identity}`: a JSON array of
 * conversation keys), read once and cached (bounded). Changes to one identity's list run one
 * at a time, so two conversations joined at once cannot overwrite each other's key.
 */
import type { IdentityId } from '../../shared/ids.js';
import type { DocStore } from '../store/types.js';

const CACHED = 10_000;

export class InboxLists {
  private readonly cache = new Map<IdentityId, Set<string>>();
  private readonly chains = new Map<IdentityId, Promise<unknown>>();

  constructor(private readonly store: Pick<DocStore, 'getMeta' | 'setMeta'>) {}

  /**
   * The conversations `identity`'s inbox lists. A list never written (an inbox from before
   * lists existed) starts as `seed()`: the entries that inbox already holds.
   */
  get(identity: IdentityId, seed?: () => Iterable<string>): Promise<ReadonlySet<string>> {
    return this.serial(identity, async () => {
      const list = await this.load(identity);
      if (list) return new Set(list);
      const seeded = new Set(seed?.() ?? []);
      if (seeded.size > 0) await this.save(identity, seeded);
      else this.remember(identity, seeded);
      return new Set(seeded);
    });
  }

  /** Lists `key` for `identity`; true when that was a change (and it is now durable). */
  add(identity: IdentityId, key: string): Promise<boolean> {
    return this.change(identity, (list) => {
      if (list.has(key)) return false;
      list.add(key);
      return true;
    });
  }

  /** Stops listing `key` for `identity`; true when that was a change (and it is now durable). */
  remove(identity: IdentityId, key: string): Promise<boolean> {
    return this.change(identity, (list) => list.delete(key));
  }

  private change(identity: IdentityId, edit: (list: Set<string>) => boolean): Promise<boolean> {
    return this.serial(identity, async () => {
      const list = new Set((await this.load(identity)) ?? []);
      if (!edit(list)) return false;
      await this.save(identity, list);
      return true;
    });
  }

  private async load(identity: IdentityId): Promise<Set<string> | undefined> {
    const cached = this.cache.get(identity);
    if (cached) return cached;
    const stored = await this.store.getMeta(metaKey(identity));
    if (typeof stored !== 'string') return undefined;
    const list = new Set(JSON.parse(stored) as string[]);
    this.remember(identity, list);
    return list;
  }

  private async save(identity: IdentityId, list: Set<string>): Promise<void> {
    // Forgotten first: a failed write must not leave the cache ahead of the disk.
    this.cache.delete(identity);
    await this.store.setMeta(metaKey(identity), JSON.stringify([...list]));
    this.remember(identity, list);
  }

  private remember(identity: IdentityId, list: Set<string>): void {
    this.cache.delete(identity);
    this.cache.set(identity, list);
    if (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value!);
  }

  private serial<T>(identity: IdentityId, f: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(identity) ?? Promise.resolve();
    const next = previous.then(f, f);
    const settled = next.catch(() => undefined);
    this.chains.set(identity, settled);
    void settled.then(() => {
      if (this.chains.get(identity) === settled) this.chains.delete(identity);
    });
    return next;
  }
}

function metaKey(identity: IdentityId): string {
  return `inbox-list:${identity}`;
}
