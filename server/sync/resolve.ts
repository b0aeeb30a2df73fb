/**
 * @module Where an incoming update lands, without applying it: for every new struct, the root map
 * and key it writes; for every deletion, the root map and key of what it deletes. The rules then
 * judge writes by (root, key), never by struct.
 *
 * Yjs facts this relies on (notes/yjs-update-filter-findings.md §2):
 * - a decoded struct's `parent` is a root name, the ID of a parent type's item, or null whenever
 *   it has an origin; then it inherits parent and key from its origin item (origin first, as
 *   `Item.getMissing` does), which may be in the document or earlier in the same update;
 * - lookups go by clock range, not exact ID, because consecutive structs merge;
 * - `Y.getItem` throws for clocks the store lacks: check `Y.getState` first;
 * - deletions carry no author: they are judged by what they delete;
 * - a ContentDeleted struct written into a map key unsets the key.
 * The schema is flat (root maps of plain values), so any nested parent, list insert or
 * rightOrigin is outside it: honest clients never produce them, and Yjs would not check that
 * origin and rightOrigin share a parent.
 */
import * as Y from 'yjs';
import { ConvosyncError } from '../../shared/errors.js';
import type { RootName } from '../../shared/schema.js';
import type { DecodedUpdate } from './filter.js';

export interface Landing {
  root: RootName;
  key: string;
}

export interface Resolution {
  /** The final value each touched (root, key) gets; `undefined` = unset. */
  writes: Map<RootName, Map<string, unknown>>;
  /** The struct that wrote each (root, key) last, for the rejection's clientID and clock. */
  authors: Map<string, Y.ID>;
  /** Clients with new structs: [clientID, first new clock]. */
  clients: Map<number, number>;
}

export interface ResolveFailure {
  error: ConvosyncError;
  clientId: number;
  clock: number;
}

type UpdateStruct = Y.Item | Y.GC | Y.Skip;

export function resolveUpdate(
  doc: Y.Doc,
  decoded: DecodedUpdate,
  roots: ReadonlySet<string>,
): Resolution | ResolveFailure {
  const store = doc.store;
  const rootOf = new Map<unknown, RootName>();
  for (const [name, type] of doc.share) rootOf.set(type, name as RootName);

  // The update's structs per client, in clock order, for range lookups.
  const byClient = new Map<number, UpdateStruct[]>();
  for (const s of decoded.structs) {
    const list = byClient.get(s.id.client) ?? [];
    list.push(s);
    byClient.set(s.id.client, list);
  }
  const findInUpdate = (id: Y.ID): UpdateStruct | undefined => {
    const list = byClient.get(id.client);
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
  };

  const fail = (
    code: ConstructorParameters<typeof ConvosyncError>[0],
    message: string,
    at: Y.ID,
  ): ResolveFailure => ({
    error: new ConvosyncError(code, message),
    clientId: at.client,
    clock: at.clock,
  });

  const landings = new Map<UpdateStruct, Landing | ResolveFailure>();
  const storeLanding = (item: Y.Item | Y.GC, at: Y.ID): Landing | ResolveFailure => {
    if (!(item instanceof Y.Item))
      return fail('SCHEMA_VIOLATION', 'write relative to a garbage-collected struct', at);
    const root = rootOf.get(item.parent);
    if (root === undefined || item.parentSub === null)
      return fail('SCHEMA_VIOLATION', 'write inside a nested type or list', at);
    return { root, key: item.parentSub };
  };
  // Iterative along origin chains (an offline batch chains hundreds of writes to one key).
  const landingOf = (start: Y.Item): Landing | ResolveFailure => {
    const chain: Y.Item[] = [];
    let current: Y.Item = start;
    let result: Landing | ResolveFailure | undefined;
    for (;;) {
      const known = landings.get(current);
      if (known) {
        result = known;
        break;
      }
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
        result = roots.has(parent)
          ? current.parentSub === null
            ? fail(
                'SCHEMA_VIOLATION',
                `list insert into root "${parent}"; the schema only sets map keys`,
                current.id,
              )
            : { root: parent as RootName, key: current.parentSub }
          : fail('SCHEMA_VIOLATION', `unknown root type "${parent.slice(0, 40)}"`, current.id);
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
      if (origin.clock < Y.getState(store, origin.client)) {
        result = storeLanding(Y.getItem(store, origin), current.id);
        break;
      }
      const inUpdate = findInUpdate(origin);
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
  };

  // Honest encoders write delete sets sorted and merged per client; a crafted one may not be.
  for (const [client, ranges] of decoded.ds.clients)
    decoded.ds.clients.set(client, sortAndMerge(ranges));
  const deletedInUpdate = (id: Y.ID): boolean => {
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

  const writes = new Map<RootName, Map<string, unknown>>();
  const authors = new Map<string, Y.ID>();
  const clients = new Map<number, number>();
  for (const struct of decoded.structs) {
    if (!(struct instanceof Y.Item)) {
      // GC structs stand for deleted children of deleted types: no effect, but none exist in a
      // flat schema unless the clock range is already known.
      if (struct.id.clock + struct.length > Y.getState(store, struct.id.client)) {
        return fail('SCHEMA_VIOLATION', 'garbage-collected struct the server never had', struct.id);
      }
      continue;
    }
    const state = Y.getState(store, struct.id.client);
    if (struct.id.clock + struct.length <= state) continue; // already integrated
    if (!clients.has(struct.id.client))
      clients.set(struct.id.client, Math.max(struct.id.clock, state));
    const landing = landingOf(struct);
    if ('error' in landing) return landing;
    const content = struct.content;
    let value: unknown;
    if (content instanceof Y.ContentAny) {
      if (content.arr.length !== 1)
        return fail('SCHEMA_VIOLATION', 'a map value is one value', struct.id);
      value = deletedInUpdate(struct.id) ? undefined : content.arr[0];
    } else if (content instanceof Y.ContentDeleted) {
      value = undefined;
    } else {
      return fail(
        'SCHEMA_VIOLATION',
        'values are plain JSON (no nested types, text or binary)',
        struct.id,
      );
    }
    let root = writes.get(landing.root);
    if (!root) {
      root = new Map();
      writes.set(landing.root, root);
    }
    root.set(landing.key, value);
    authors.set(`${landing.root}\u0000${landing.key}`, struct.id);
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
        const landing = storeLanding(struct, struct.id);
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
  return { writes, authors, clients };
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
