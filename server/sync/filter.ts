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
 * - the author may read the conversation.
 * Then it resolves where every write lands (resolve.ts), checks authorship of clientIDs
 * (clients.ts) and judges the writes with the shared rules (shared/rules/).
 */
import * as Y from 'yjs';
import { ConvosyncError } from '../../shared/errors.js';
import type { IdentityId, MessageKey } from '../../shared/ids.js';
import type { ParsedDoc } from '../../shared/keys.js';
import { canRead } from '../../shared/rules/access.js';
import { checkWrites } from '../../shared/rules/writes.js';
import {
  conversationRoots,
  INBOX_ROOT_NAMES,
  type Message,
  ROOT_NAMES,
  type RootName,
  type SystemEvent,
} from '../../shared/schema.js';
import {
  type EventPlace,
  type MemberStep,
  placedSystemEvents,
} from '../../shared/system-events.js';
import type { Identity } from '../auth/identity.js';
import { checkAuthorship } from './clients.js';
import { checkDeviceCap } from './device-cap.js';
import { type ResolvedWrite, resolveUpdate } from './resolve.js';

export interface FilterInput {
  doc: Y.Doc;
  parsed: ParsedDoc;
  identity: Identity;
  update: Uint8Array;
  /** Server time of receipt: the time every time-based rule uses (invariant 3). */
  now: number;
  /** The conversation's highest stamped seq (read positions cannot pass it). */
  lastSeq: number;
  /** Awareness clientIDs announced in this room, by identity: not bindable by another. */
  awarenessOwners?: ReadonlyMap<number, IdentityId>;
}

export interface DecodedUpdate {
  structs: Array<Y.Item | Y.GC | Y.Skip>;
  ds: { clients: Map<number, Array<{ clock: number; len: number }>> };
}

/** What an accepted update does, for the server writes that follow it. */
export interface Plan {
  /** Fresh clientIDs to bind to the author. */
  bind: number[];
  /** The final writes, by root and key. */
  writes: ReadonlyMap<RootName, ReadonlyMap<string, unknown>>;
  /** Existing messages this update recalls (the server stamps the recall time). */
  recalls: MessageKey[];
  /** What the server reports in the log as system messages (joins, roles, announcements). */
  notes: SystemEvent[];
  /** Where each note's change was written in the batch (aligned with `notes`), to order the log. */
  noteAt?: Array<EventPlace | undefined>;
  /** Writes of new messages, in order, with their struct (moderation names it when refusing). */
  created?: Array<{ key: MessageKey; clientId: number; clock: number }>;
  /** New messages that forward another message; the room checks each source is readable. */
  forwards: Array<{
    key: MessageKey;
    from: NonNullable<Message['forwardedFrom']>;
    clientId: number;
    clock: number;
  }>;
}

export type Verdict = ({ ok: true } & Plan) | ({ ok: false } & Rejection);

export interface Rejection {
  error: ConvosyncError;
  clientId: number;
  clock: number;
}

export interface FilterOptions {
  maxUpdateBytes: number;
  maxStructs: number;
  /** The moderation list's test: names people choose are refused with a listed word. */
  sensitive?: (text: string) => boolean;
  /** Devices per identity in `reads` and `delivered` (default: no cap). */
  maxDevicesPerIdentity?: number;
}

function reject(code: ConstructorParameters<typeof ConvosyncError>[0], message: string): Verdict {
  return { ok: false, error: new ConvosyncError(code, message), clientId: 0, clock: 0 };
}

const NO_NOTES: Array<{ event: SystemEvent; at?: EventPlace }> = [];

export function createFilter(options: FilterOptions): (input: FilterInput) => Verdict {
  const conversationRootSet = new Set<string>(ROOT_NAMES);
  const inboxRootSet = new Set<string>(INBOX_ROOT_NAMES);
  return function filter(input) {
    if (input.update.byteLength > options.maxUpdateBytes) {
      return reject(
        'UPDATE_TOO_LARGE',
        `update of ${input.update.byteLength} bytes exceeds ${options.maxUpdateBytes}`,
      );
    }
    if (!canRead(input.doc, input.parsed, input.identity)) {
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
    const roots = input.parsed.type === 'inbox' ? inboxRootSet : conversationRootSet;
    const structural = checkStructure(input.doc, decoded, roots);
    if (structural) return { ok: false, ...structural };
    const resolution = resolveUpdate(input.doc, decoded, roots);
    if ('error' in resolution) return { ok: false, ...resolution };
    const authorship = checkAuthorship(
      input.doc,
      input.identity.id,
      resolution.clients,
      input.awarenessOwners,
    );
    if ('error' in authorship) return { ok: false, ...authorship };
    const devices =
      options.maxDevicesPerIdentity === undefined
        ? undefined
        : checkDeviceCap(
            input.doc,
            input.identity.id,
            resolution.sequence,
            options.maxDevicesPerIdentity,
          );
    if (devices) return { ok: false, ...devices };
    const rejected = checkWrites(
      {
        doc: input.doc,
        parsed: input.parsed,
        author: input.identity,
        now: input.now,
        lastSeq: input.lastSeq,
        writes: resolution.writes,
        ...(options.sensitive ? { sensitive: options.sensitive } : {}),
      },
      resolution.sequence,
    );
    if (rejected) {
      const at = rejected.write.id;
      return { ok: false, error: rejected.error, clientId: at.client, clock: at.clock };
    }
    const messages = conversationRoots(input.doc).messages;
    const writes = resolution.writes;
    const recalls: MessageKey[] = [];
    const forwards: Plan['forwards'] = [];
    const created: NonNullable<Plan['created']> = [];
    for (const write of resolution.sequence) {
      if (write.root !== 'messages' || write.value === undefined) continue;
      if (messages.has(write.key)) {
        if (!recalls.includes(write.key as MessageKey)) recalls.push(write.key as MessageKey);
        continue;
      }
      created.push({
        key: write.key as MessageKey,
        clientId: write.id.client,
        clock: write.id.clock,
      });
      const from = (write.value as Message).forwardedFrom;
      if (from)
        forwards.push({
          key: write.key as MessageKey,
          from,
          clientId: write.id.client,
          clock: write.id.clock,
        });
    }
    // Judged and reported step by step: an offline batch is a sequence of intents. Only writes
    // to members, meta or settings report anything: a plain message skips the pass.
    const placed =
      writes.has('members') || writes.has('meta') || writes.has('settings')
        ? placedSystemEvents(
            input.doc,
            input.parsed,
            writes,
            input.identity.id,
            memberSteps(resolution.sequence),
          )
        : NO_NOTES;
    const notes = placed.map((p) => p.event);
    const noteAt = placed.map((p) => p.at);
    return {
      ok: true,
      bind: authorship.bind,
      writes: resolution.writes,
      recalls,
      forwards,
      notes,
      noteAt,
      created,
    };
  };
}

function memberSteps(sequence: readonly ResolvedWrite[]): MemberStep[] {
  const steps: MemberStep[] = [];
  for (const w of sequence)
    if (w.root === 'members')
      steps.push({ key: w.key, value: w.value, previous: w.previous, id: w.id });
  return steps;
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
  for (const struct of decoded.structs) {
    // A struct that starts inside the known state and ends beyond it would integrate with an
    // offset, against another origin than the one the filter resolves: refuse it (honest
    // encoders split structs at the receiver's state vector).
    const state = Y.getState(store, struct.id.client);
    if (struct.id.clock < state && struct.id.clock + struct.length > state) {
      return malformed('struct straddles the known state', struct.id.client, struct.id.clock);
    }
  }
  for (const struct of decoded.structs) {
    if (!(struct instanceof Y.Item)) continue;
    const { client, clock } = struct.id;
    if (clock + struct.length <= Y.getState(store, client)) continue; // already integrated
    if (!known(store, ranges, struct.origin) || !known(store, ranges, struct.rightOrigin))
      return missing(client, clock);
    // An origin later in the same client's run points forward: Yjs cannot integrate it (and an
    // origin inside the struct itself would make its parent chain endless).
    if (struct.origin && struct.origin.client === client && struct.origin.clock >= clock) {
      return malformed('origin points forward in the same client', client, clock);
    }
    const parent = struct.parent as unknown;
    if (typeof parent === 'string') {
      if (!roots.has(parent)) {
        const error = new ConvosyncError(
          'SCHEMA_VIOLATION',
          `unknown root type "${parent.slice(0, 40)}"`,
        );
        return { error, clientId: client, clock };
      }
    } else if (parent instanceof Y.ID) {
      if (!known(store, ranges, parent)) return missing(client, clock);
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

/** Whether `id` is in the document or in this update. */
function known(store: Y.Doc['store'], ranges: Ranges, id: Y.ID | null): boolean {
  if (id === null) return true;
  if (id.clock < Y.getState(store, id.client)) return true;
  const range = ranges.get(id.client);
  return range !== undefined && id.clock >= range.start && id.clock < range.end;
}

function malformed(message: string, clientId: number, clock: number): Rejection {
  return { error: new ConvosyncError('MALFORMED_MESSAGE', message), clientId, clock };
}

function missing(clientId: number, clock: number): Rejection {
  return {
    error: new ConvosyncError(
      'MISSING_DEPENDENCIES',
      `missing dependencies before ${clientId}:${clock}`,
    ),
    clientId,
    clock,
  };
}
