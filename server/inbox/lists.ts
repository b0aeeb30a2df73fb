/**
 * @module Which conversations each identity's inbox lists: the one durable part of the inbox the
 * server derives (entries are computed when an inbox opens, inbox-view.ts). It changes only
 * when the identity joins or leaves a conversation, so a message costs no write here.
 *
 * Kept as one server-only meta value per identity (`inbox-list:{identity}`: JSON
 * `{ listed, left }`, conversation keys; a bare array is an older `listed`), read once and
 * cached (bounded). `left` holds the conversations most recently left (bounded): a device that
 * was offline when the identity left may still show them, and only those keys may be removed
 * from a device by a tombstone (inbox-view.ts). Changes to one identity's list run one at a
 * time, so two conversations joined at once cannot overwrite each other's key.
 *
 * Cluster mode: each conversation's owner writes its members' lists, so one identity's list is
 * changed by several nodes. With `swap` (a compare-and-set of the stored value) a change is
 * written only over the value it was made from; when another node wrote in between, the list
 * is read again and the change made again, so no node's change overwrites another's. (The
 * cache may also be stale there: `forget` drops it on a notice, and a stale cached list costs at
 * most a failed swap.)
 *
 * An identity with no list yet (a data directory from before lists existed) starts from
 * `seed`: the entries its stored inbox document holds. Every path seeds (reads and changes),
 * so a change can never replace an old inbox's conversations with just the one it adds.
 */
import type { IdentityId } from '../../shared/ids.js';
import type { DocStore } from '../store/types.js';

const CACHED = 10_000;
/** Conversations left that are remembered per identity (older ones: see the module comment). */
export const LEFT_KEPT = 512;

interface List {
  listed: Set<string>;
  left: string[];
  /** The stored value this list was read from (undefined: none stored). */
  stored?: string;
}

export type ListSeed = (identity: IdentityId) => Promise<Iterable<string>>;

/** Writes meta `key` only if it holds `expected` (undefined: nothing); true when written. */
export type MetaSwap = (
  key: string,
  expected: string | undefined,
  value: string,
) => Promise<boolean>;

/** Attempts of one change against other nodes' writes before it gives up (and throws). */
const SWAP_ATTEMPTS = 20;

export class InboxLists {
  private readonly cache = new Map<IdentityId, List>();
  private readonly chains = new Map<IdentityId, Promise<unknown>>();

  constructor(
    private readonly store: Pick<DocStore, 'getMeta' | 'setMeta'>,
    private readonly seed: ListSeed = async () => [],
    private readonly swap?: MetaSwap,
  ) {}

  /** The conversations `identity`'s inbox lists. */
  async get(identity: IdentityId): Promise<ReadonlySet<string>> {
    return new Set((await this.read(identity)).listed);
  }

  /** The conversations `identity` left most recently (not listed now). */
  async left(identity: IdentityId): Promise<ReadonlySet<string>> {
    return new Set((await this.read(identity)).left);
  }

  /** What is known now without waiting (undefined: not read yet). */
  cached(
    identity: IdentityId,
  ): { listed: ReadonlySet<string>; left: ReadonlySet<string> } | undefined {
    const list = this.cache.get(identity);
    return list && { listed: list.listed, left: new Set(list.left) };
  }

  /**
   * Drops what is cached of `identity`'s list (cluster mode: another node changed it, or a notice
   * may have been missed): the next read asks the store. In the identity's order, so a read
   * already under way cannot cache what it read before the change after this.
   */
  forget(identity: IdentityId): Promise<void> {
    return this.serial(identity, async () => {
      this.cache.delete(identity);
    });
  }

  /** Lists `key` for `identity`; true when that was a change (and it is now durable). */
  add(identity: IdentityId, key: string): Promise<boolean> {
    return this.change(identity, (list) => {
      if (list.listed.has(key)) return false;
      list.listed.add(key);
      list.left = list.left.filter((k) => k !== key);
      return true;
    });
  }

  /** Stops listing `key` for `identity`; true when that was a change (and it is now durable). */
  remove(identity: IdentityId, key: string): Promise<boolean> {
    return this.change(identity, (list) => {
      if (!list.listed.delete(key)) return false;
      list.left = [...list.left.filter((k) => k !== key), key].slice(-LEFT_KEPT);
      return true;
    });
  }

  private read(identity: IdentityId): Promise<List> {
    return this.serial(identity, () => this.load(identity));
  }

  private change(identity: IdentityId, edit: (list: List) => boolean): Promise<boolean> {
    return this.serial(identity, async () => {
      for (let attempt = 1; ; attempt++) {
        const current = await this.load(identity);
        const list: List = { listed: new Set(current.listed), left: [...current.left] };
        if (!edit(list)) return false;
        if (!this.swap) {
          await this.save(identity, list);
          return true;
        }
        if (await this.saveOver(identity, current.stored, list)) return true;
        // Another node wrote the list since it was read: read it again, redo the change.
        this.cache.delete(identity);
        if (attempt >= SWAP_ATTEMPTS)
          throw new Error(`the inbox list of ${identity} kept changing under this write`);
      }
    });
  }

  /** The stored list, or a list seeded (and saved) from the inbox's stored entries. */
  private async load(identity: IdentityId): Promise<List> {
    const cached = this.cache.get(identity);
    if (cached) return cached;
    const stored = await this.store.getMeta(metaKey(identity));
    if (typeof stored === 'string') {
      const list = { ...parse(stored), stored };
      this.remember(identity, list);
      return list;
    }
    const list: List = { listed: new Set(await this.seed(identity)), left: [] };
    if (list.listed.size === 0) this.remember(identity, list);
    else if (!this.swap) await this.save(identity, list);
    // Another node stored a list first: that one holds.
    else if (!(await this.saveOver(identity, undefined, list))) return this.load(identity);
    return list;
  }

  private async save(identity: IdentityId, list: List): Promise<void> {
    // Forgotten first: a failed write must not leave the cache ahead of the disk.
    this.cache.delete(identity);
    list.stored = serialize(list);
    await this.store.setMeta(metaKey(identity), list.stored);
    this.remember(identity, list);
  }

  /** Stores `list` if the stored value is still `expected`; true when it did. */
  private async saveOver(
    identity: IdentityId,
    expected: string | undefined,
    list: List,
  ): Promise<boolean> {
    this.cache.delete(identity);
    const value = serialize(list);
    if (!(await this.swap!(metaKey(identity), expected, value))) return false;
    list.stored = value;
    this.remember(identity, list);
    return true;
  }

  private remember(identity: IdentityId, list: List): void {
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

function serialize(list: List): string {
  return JSON.stringify({ listed: [...list.listed], left: list.left });
}

function parse(stored: string): List {
  const value = JSON.parse(stored) as string[] | { listed: string[]; left?: string[] };
  if (Array.isArray(value)) return { listed: new Set(value), left: [] };
  return { listed: new Set(value.listed), left: value.left ?? [] };
}

function metaKey(identity: IdentityId): string {
  return `inbox-list:${identity}`;
}
