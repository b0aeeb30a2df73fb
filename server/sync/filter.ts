/**
 * @module The filter step between decode and apply: decides, without touching the document,
 * whether an incoming update may be applied. Pure: no I/O, no clone (DESIGN.md "The filter").
 *
 * The structural checks here protect invariant 1 whatever the rules say:
 * - the update decodes (a crafted update can throw inside `Y.applyUpdate` after part of it was
 *   integrated; decoding fully first avoids that);
 * - no dependency is missing: `Y.applyUpdate` would park such an update in
 *   `store.pendingStructs` / `pendingDs` and integrate it later, silently, without a check;
 * - structs of one client are contiguous and contain no Skip (a gap in a merged update);
 * - new structs only land in the schema's roots (`applyUpdate` creates unknown roots as a side
 *   effect);
 * - the author is an active member.
 * The IM rules (authorship of clientIDs, message and role rules) plug in as `UpdateRule`s.
 */
import * as Y from 'yjs';
import { isActiveMember } from '../../shared/conversation.js';
import { ConvosyncError } from '../../shared/errors.js';
import { ROOT_NAMES } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';

export interface FilterInput {
  doc: Y.Doc;
  identity: Identity;
  update: Uint8Array;
  /** Server time of receipt: the time every time-based rule uses (invariant 3). */
  now: number;
}

export interface DecodedUpdate {
  structs: Array<Y.Item | Y.GC | Y.Skip>;
  ds: { clients: Map<number, Array<{ clock: number; len: number }>> };
}

export type Verdict =
  | { ok: true; decoded: DecodedUpdate }
  | { ok: false; error: ConvosyncError; clientId: number; clock: number };

/** A business rule over an already structurally valid update; returns a rejection or nothing. */
export type UpdateRule = (input: FilterInput, decoded: DecodedUpdate) => Rejection | undefined;
export interface Rejection {
  error: ConvosyncError;
  clientId: number;
  clock: number;
}

export interface FilterOptions {
  maxUpdateBytes: number;
  maxStructs: number;
  rules?: readonly UpdateRule[];
}

export function createFilter(options: FilterOptions): (input: FilterInput) => Verdict {
  const rules = options.rules ?? [];
  const roots = new Set<string>(ROOT_NAMES);
  return function filter(input) {
    const reject = (
      code: ConstructorParameters<typeof ConvosyncError>[0],
      message: string,
      clientId = 0,
      clock = 0,
    ): Verdict => ({
      ok: false,
      error: new ConvosyncError(code, message),
      clientId,
      clock,
    });
    if (input.update.byteLength > options.maxUpdateBytes) {
      return reject(
        'UPDATE_TOO_LARGE',
        `update of ${input.update.byteLength} bytes exceeds ${options.maxUpdateBytes}`,
      );
    }
    if (!isActiveMember(input.doc, input.identity.id)) {
      return reject('NOT_MEMBER', `${input.identity.id} is not an active member`);
    }
    let decoded: DecodedUpdate;
    try {
      decoded = Y.decodeUpdate(input.update) as DecodedUpdate;
    } catch (error) {
      return reject('MALFORMED_MESSAGE', `update does not decode: ${(error as Error).message}`);
    }
    if (decoded.structs.length > options.maxStructs) {
      return reject(
        'UPDATE_TOO_LARGE',
        `${decoded.structs.length} structs exceed ${options.maxStructs}`,
      );
    }
    const structural = checkStructure(input.doc, decoded, roots);
    if (structural) return { ok: false, ...structural };
    for (const rule of rules) {
      const rejection = rule(input, decoded);
      if (rejection) return { ok: false, ...rejection };
    }
    return { ok: true, decoded };
  };
}

/** Per client, the clock range [start, end) this update carries. */
type Ranges = Map<number, { start: number; end: number }>;

function checkStructure(
  doc: Y.Doc,
  decoded: DecodedUpdate,
  roots: Set<string>,
): Rejection | undefined {
  const store = doc.store;
  const ranges: Ranges = new Map();
  for (const struct of decoded.structs) {
    const { client, clock } = struct.id;
    if (struct instanceof Y.Skip)
      return malformed('update contains a gap (Skip struct)', client, clock);
    const range = ranges.get(client);
    if (!range) ranges.set(client, { start: clock, end: clock + struct.length });
    else if (range.end !== clock)
      return malformed('structs of one client are not contiguous', client, clock);
    else range.end = clock + struct.length;
  }
  for (const [client, range] of ranges) {
    if (range.start > Y.getState(store, client)) return missing(client, range.start);
  }
  const known = (id: Y.ID | null): boolean => {
    if (id === null) return true;
    if (id.clock < Y.getState(store, id.client)) return true;
    const range = ranges.get(id.client);
    return range !== undefined && id.clock >= range.start && id.clock < range.end;
  };
  for (const struct of decoded.structs) {
    if (!(struct instanceof Y.Item)) continue;
    const { client, clock } = struct.id;
    if (clock + struct.length <= Y.getState(store, client)) continue; // already integrated
    if (!known(struct.origin) || !known(struct.rightOrigin)) return missing(client, clock);
    const parent = struct.parent as unknown;
    if (typeof parent === 'string') {
      if (!roots.has(parent))
        return malformed(`unknown root type "${parent.slice(0, 40)}"`, client, clock);
    } else if (parent instanceof Y.ID) {
      if (!known(parent)) return missing(client, clock);
    }
  }
  for (const [client, deletes] of decoded.ds.clients) {
    const end = Math.max(Y.getState(store, client), ranges.get(client)?.end ?? 0);
    for (const del of deletes) {
      if (del.clock + del.len > end) return missing(client, del.clock);
    }
  }
  return undefined;
}

function malformed(message: string, clientId: number, clock: number): Rejection {
  return { error: new ConvosyncError('MALFORMED_MESSAGE', message), clientId, clock };
}

function missing(clientId: number, clock: number): Rejection {
  return {
    error: new ConvosyncError(
      'UPDATE_REJECTED',
      `missing dependencies before ${clientId}:${clock}`,
    ),
    clientId,
    clock,
  };
}
