/**
 * @module Where an incoming update lands, without applying it: for every new struct, the root map
 * and key it writes, in the order Yjs will make those writes take effect; for every deletion, the
 * root map and key of what it deletes. The rules then judge writes by (root, key), never by struct.
 *
 * Yjs facts this relies on (notes/yjs-update-filter-findings.md §2):
 * - a decoded struct's `parent` is a root name, the ID of a parent type's item, or null whenever
 *   it has an origin; then it inherits parent and key from its origin item (origin first, as
 *   `Item.getMissing` does), which may be in the document or earlier in the same update;
 * - lookups go by clock range, not exact ID, because consecutive structs merge;
 * - `Y.getItem` throws for clocks the store lacks: check `Y.getState` first;
 * - deletions carry no author: they are judged by what they delete;
 * - a ContentDeleted struct written into a map key unsets the key.
 *
 * Which value a map key ends up with is decided by where its new item integrates: only an item
 * whose origin is the key's current item becomes the new current value; an item placed further
 * left (origin null or an older item) is deleted on arrival, or wins by clientID order. So the
 * writes to one key must form one chain: the first new item's origin is the key's current item
 * (null for a key never written), each next one's origin is the previous one. Then the values
 * the rules judge, in order, are exactly the values the key takes. A second chain, a branch or a
 * stale origin (a concurrent writer) is refused; the client resyncs and replays.
 *
 * The schema is flat (root maps of plain JSON values), so any nested parent, list insert or
 * rightOrigin is outside it: honest clients never produce them, and Yjs would not check that
 * origin and rightOrigin share a parent.
 */
import * as Y from 'yjs';
import { ConvosyncError, type ErrorCode } from '../../shared/errors.js';
import type { RootName } from '../../shared/schema.js';
import type { DecodedUpdate } from './filter.js';

/** One write the rules judge: a key's value before it and after it. */
export interface ResolvedWrite {
  root: RootName;
  key: string;
  value: unknown;
  /** The key's value before this write (the document's, or the previous write's in this chain). */
  previous: unknown;
  /** The struct that makes the write, for the rejection's clientID and clock. */
  id: Y.ID;
}

export interface Resolution {
  /** Every judged write, chain by chain in the order the update carries them. */
  sequence: ResolvedWrite[];
  /** The final value each touched (root, key) gets; `undefined` = unset. */
  writes: Map<RootName, Map<string, unknown>>;
  /** Clients with new structs: [clientID, first new clock]. */
  clients: Map<number, number>;
}

export interface ResolveFailure {
  error: ConvosyncError;
  clientId: number;
  clock: number;
}

type UpdateStruct = Y.Item | Y.GC | Y.Skip;
type Landing = { root: RootName; key: string };

const idKey = (id: Y.ID) => `${id.client}:${id.clock}`;
const lastId = (s: { id: Y.ID; length: number }) =>
  Y.createID(s.id.client, s.id.clock + s.length - 1);

const fail = (code: ErrorCode, message: string, at: Y.ID): ResolveFailure => ({
  error: new ConvosyncError(code, message),
  clientId: at.client,
  clock: at.clock,
});

/**
 * What one resolution reads and remembers. Built once per call, and the per-struct helpers below
 * are module functions, not closures: the common update (one new message) then allocates no
 * function and no map it does not use.
 */
interface Resolving {
  store: Y.Doc['store'];
  decoded: DecodedUpdate;
  roots: ReadonlySet<string>;
  rootOf: Map<unknown, RootName>;
  /** The update's structs per client, in clock order; built on the first lookup. */
  byClient: Map<number, UpdateStruct[]> | undefined;
  /** Landings found along origin chains; built on the first chain. */
  landings: Map<UpdateStruct, Landing | ResolveFailure> | undefined;
}

function findInUpdate(r: Resolving, id: Y.ID): UpdateStruct | undefined {
  if (r.byClient === undefined) {
    r.byClient = new Map();
    for (const s of r.decoded.structs) {
      const list = r.byClient.get(s.id.client);
      if (list) list.push(s);
      else r.byClient.set(s.id.client, [s]);
    }
  }
  const list = r.byClient.get(id.client);
  if (!list) return undefined;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = list[mid]!;
    if (id.clock < s.id.clock) hi = mid - 1;
    else if (id.clock >= s.id.clock + s.length) lo = mid + 1;
    else return s;
  }
  return undefined;
}

function storeLanding(
  rootOf: Map<unknown, RootName>,
  item: Y.Item | Y.GC,
  at: Y.ID,
): Landing | ResolveFailure {
  if (!(item instanceof Y.Item))
    return fail('SCHEMA_VIOLATION', 'write relative to a garbage-collected struct', at);
  const root = rootOf.get(item.parent);
  if (root === undefined || item.parentSub === null)
    return fail('SCHEMA_VIOLATION', 'write inside a nested type or list', at);
  return { root, key: item.parentSub };
}

// Iterative along origin chains (an offline batch chains hundreds of writes to one key). The
// filter refused same-client forward references; `seen` catches cycles across clients, which
// would otherwise loop here for ever.
function landingOf(r: Resolving, start: Y.Item): Landing | ResolveFailure {
  // Fast path, the common case: a first write of a key names its root and key itself.
  const direct = start.parent as unknown;
  if (
    typeof direct === 'string' &&
    start.rightOrigin === null &&
    start.parentSub !== null &&
    r.roots.has(direct)
  ) {
    return { root: direct as RootName, key: start.parentSub };
  }
  if (r.landings === undefined) r.landings = new Map();
  const landings = r.landings;
  const chain: Y.Item[] = [];
  const seen = new Set<Y.Item>();
  let current: Y.Item = start;
  let result: Landing | ResolveFailure;
  for (;;) {
    const known = landings.get(current);
    if (known) {
      result = known;
      break;
    }
    if (seen.has(current)) {
      result = fail('MALFORMED_MESSAGE', 'origins form a cycle', start.id);
      break;
    }
    seen.add(current);
    chain.push(current);
    if (current.rightOrigin !== null) {
      result = fail(
        'SCHEMA_VIOLATION',
        'insert between existing items (rightOrigin); the schema only sets map keys',
        current.id,
      );
      break;
    }
    const parent = current.parent as unknown;
    if (typeof parent === 'string') {
      if (!r.roots.has(parent))
        result = fail('SCHEMA_VIOLATION', `unknown root type "${parent.slice(0, 40)}"`, current.id);
      else if (current.parentSub === null)
        result = fail(
          'SCHEMA_VIOLATION',
          `list insert into root "${parent}"; the schema only sets map keys`,
          current.id,
        );
      else result = { root: parent as RootName, key: current.parentSub };
      break;
    }
    if (parent !== null) {
      result = fail(
        'SCHEMA_VIOLATION',
        'write inside a nested type; the schema has none',
        current.id,
      );
      break;
    }
    const origin = current.origin;
    if (origin === null) {
      result = fail('SCHEMA_VIOLATION', 'struct without parent or origin', current.id);
      break;
    }
    if (origin.clock < Y.getState(r.store, origin.client)) {
      result = storeLanding(r.rootOf, Y.getItem(r.store, origin), current.id);
      break;
    }
    const inUpdate = findInUpdate(r, origin);
    if (!(inUpdate instanceof Y.Item)) {
      result = fail(
        inUpdate ? 'SCHEMA_VIOLATION' : 'MISSING_DEPENDENCIES',
        'origin is not an item',
        current.id,
      );
      break;
    }
    current = inUpdate;
  }
  for (const item of chain) landings.set(item, result);
  return result;
}

export function resolveUpdate(
  doc: Y.Doc,
  decoded: DecodedUpdate,
  roots: ReadonlySet<string>,
): Resolution | ResolveFailure {
  const store = doc.store;
  const rootOf = rootsOf(doc);
  const r: Resolving = { store, decoded, roots, rootOf, byClient: undefined, landings: undefined };

  const deleted = deletedInUpdate(decoded);
  // New items per (root, key), in update order.
  const groups = new Map<string, { landing: Landing; items: Y.Item[] }>();
  const clients = new Map<number, number>();
  for (const struct of decoded.structs) {
    const state = Y.getState(store, struct.id.client);
    if (struct.id.clock + struct.length <= state) continue; // already integrated
    if (!(struct instanceof Y.Item)) {
      // GC structs stand for deleted children of deleted types; a flat schema has none.
      return fail('SCHEMA_VIOLATION', 'garbage-collected struct the server never had', struct.id);
    }
    if (!clients.has(struct.id.client)) clients.set(struct.id.client, struct.id.clock);
    const landing = landingOf(r, struct);
    if ('error' in landing) return landing;
    const content = struct.content;
    if (content instanceof Y.ContentAny) {
      // More than one value: successive writes to the key that Yjs merged into one struct (an
      // SDK keeps overwritten member values for the rules to judge); each is a write of its own.
      for (const value of content.arr) {
        const problem = plainJsonProblem(value, 0);
        if (problem) return fail('SCHEMA_VIOLATION', problem, struct.id);
      }
    } else if (!(content instanceof Y.ContentDeleted)) {
      return fail(
        'SCHEMA_VIOLATION',
        'values are plain JSON (no nested types, text or binary)',
        struct.id,
      );
    }
    const name = `${landing.root}\u0000${landing.key}`;
    const group = groups.get(name);
    if (group) group.items.push(struct);
    else groups.set(name, { landing, items: [struct] });
  }

  const sequence: ResolvedWrite[] = [];
  const writes = new Map<RootName, Map<string, unknown>>();
  for (const { landing, items } of groups.values()) {
    const type = doc.getMap(landing.root);
    const chain = orderChain(type, landing, items);
    if ('error' in chain) return { ...chain, error: chain.error };
    let previous: unknown = type.get(landing.key);
    let value: unknown = previous;
    for (const item of chain) {
      const content = item.content;
      if (content instanceof Y.ContentAny) {
        // A write that was overwritten later in this chain still happened: judge it.
        const values = content.arr;
        for (let i = 0; i < values.length; i++) {
          value = values[i];
          sequence.push({
            root: landing.root,
            key: landing.key,
            value,
            previous,
            id: i === 0 ? item.id : Y.createID(item.id.client, item.id.clock + i),
          });
          previous = value;
        }
        // The key keeps the struct's last value unless this update deletes that last clock:
        // Yjs splits the struct there, and the key's current item is then a deleted one (the
        // key ends unset, a pure delete the rules judge below). The first clock says nothing
        // of it: checking that one let a two-value write whose last clock the same update
        // deleted unset a key no rule judged (a read position moved back, a member entry gone).
        if (deleted?.(lastId(item))) value = undefined;
      } else value = undefined; // a ContentDeleted link
    }
    const last = chain[chain.length - 1]!;
    if (value === undefined && previous !== undefined) {
      // The chain ends unset (a pure delete): that is a write of its own, judged as such.
      sequence.push({
        root: landing.root,
        key: landing.key,
        value: undefined,
        previous,
        id: last.id,
      });
    }
    const root = writes.get(landing.root);
    if (root) root.set(landing.key, value);
    else writes.set(landing.root, new Map([[landing.key, value]]));
  }

  // Deletions of live items already in the document: allowed only as the overwrite of a key
  // this update writes (a pure delete would unset a key without any write to judge).
  for (const [client, deletes] of decoded.ds.clients) {
    const structs = store.clients.get(client);
    if (!structs) continue;
    const state = Y.getState(store, client);
    for (const del of deletes) {
      const end = Math.min(del.clock + del.len, state);
      if (del.clock >= end) continue;
      for (let i = Y.findIndexSS(structs, del.clock); i < structs.length; i++) {
        const struct = structs[i]!;
        if (struct.id.clock >= end) break;
        if (!(struct instanceof Y.Item) || struct.deleted) continue;
        const landing = storeLanding(rootOf, struct, struct.id);
        if ('error' in landing) return landing;
        if (!writes.get(landing.root)?.has(landing.key)) {
          return fail(
            'SCHEMA_VIOLATION',
            `delete of ${landing.root}.${landing.key.slice(0, 40)} without a new value`,
            Y.createID(client, del.clock),
          );
        }
      }
    }
  }
  return { sequence, writes, clients };
}

/**
 * Orders the new items of one key into the single chain Yjs will integrate as successive
 * current values, or explains why they do not form one.
 */
function orderChain(
  type: Y.Map<unknown>,
  landing: Landing,
  items: Y.Item[],
): Y.Item[] | ResolveFailure {
  const current = (type as unknown as { _map: Map<string, Y.Item> })._map.get(landing.key);
  if (items.length === 1) {
    // The common case, one write to the key: its origin must be the key's current item (the
    // same test as below, without building keys; the filter refused an origin inside the item).
    const item = items[0]!;
    const origin = item.origin;
    const based =
      current === undefined
        ? origin === null
        : origin !== null &&
          origin.client === current.id.client &&
          origin.clock === current.id.clock + current.length - 1;
    if (based) return items;
    return concurrent(landing, item);
  }
  const head = current ? idKey(lastId(current)) : null;
  const byOrigin = new Map<string | null, Y.Item>();
  for (const item of items) {
    const origin = item.origin ? idKey(item.origin) : null;
    if (byOrigin.has(origin))
      return fail(
        'SCHEMA_VIOLATION',
        `two writes to ${landing.root}.${landing.key.slice(0, 40)} from the same point`,
        item.id,
      );
    byOrigin.set(origin, item);
  }
  const chain: Y.Item[] = [];
  let next = byOrigin.get(head);
  if (!next) {
    return concurrent(landing, items[0]!);
  }
  while (next) {
    chain.push(next);
    next = byOrigin.get(idKey(lastId(next)));
  }
  if (chain.length !== items.length) {
    return fail(
      'SCHEMA_VIOLATION',
      `writes to ${landing.root}.${landing.key.slice(0, 40)} do not form one chain`,
      items[0]!.id,
    );
  }
  return chain;
}

/**
 * Another writer changed the key first (two devices, two admins): the SDK replays the intent
 * against the new value instead of dropping it.
 */
function concurrent(landing: Landing, first: Y.Item): ResolveFailure {
  return {
    error: new ConvosyncError(
      'CONCURRENT_CHANGE',
      `write to ${landing.root}.${landing.key.slice(0, 40)} is not based on its current value`,
    ),
    clientId: first.id.client,
    clock: first.id.clock,
  };
}

const rootCache = new WeakMap<Y.Doc, Map<unknown, RootName>>();

/** Root type -> root name; the roots of a document never change once defined. */
export function rootsOf(doc: Y.Doc): Map<unknown, RootName> {
  let map = rootCache.get(doc);
  if (!map || map.size !== doc.share.size) {
    map = new Map();
    for (const [name, type] of doc.share) map.set(type, name as RootName);
    rootCache.set(doc, map);
  }
  return map;
}

/**
 * A lookup of the update's own delete set (sorted and merged first: a crafted one may not be);
 * undefined when it deletes nothing (a new message deletes nothing).
 */
function deletedInUpdate(decoded: DecodedUpdate): ((id: Y.ID) => boolean) | undefined {
  if (decoded.ds.clients.size === 0) return undefined;
  for (const [client, ranges] of decoded.ds.clients)
    decoded.ds.clients.set(client, sortAndMerge(ranges));
  return (id) => {
    const ranges = decoded.ds.clients.get(id.client);
    if (!ranges) return false;
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const d = ranges[mid]!;
      if (id.clock < d.clock) hi = mid - 1;
      else if (id.clock >= d.clock + d.len) lo = mid + 1;
      else return true;
    }
    return false;
  };
}

function sortAndMerge(
  ranges: Array<{ clock: number; len: number }>,
): Array<{ clock: number; len: number }> {
  const sorted = [...ranges].sort((a, b) => a.clock - b.clock);
  const merged: Array<{ clock: number; len: number }> = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r.clock <= last.clock + last.len)
      last.len = Math.max(last.len, r.clock + r.len - last.clock);
    else merged.push({ clock: r.clock, len: r.len });
  }
  return merged;
}

/**
 * Why `value` is not plain JSON, or undefined. lib0's `readAny` assigns keys one by one, so a
 * `__proto__` key becomes the object's prototype: the rules would read inherited fields that
 * `writeAny` never re-encodes (peers and disk would hold something else than what was judged).
 */
function plainJsonProblem(value: unknown, depth: number): string | undefined {
  if (depth > 8) return 'value nested too deeply';
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : 'numbers must be finite';
  if (Array.isArray(value)) {
    for (const v of value) {
      const p = plainJsonProblem(v, depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    if (Object.getPrototypeOf(value) !== Object.prototype)
      return 'objects must be plain (no __proto__)';
    for (const v of Object.values(value)) {
      const p = plainJsonProblem(v, depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  return 'values are JSON (no undefined, binary or functions)';
}
