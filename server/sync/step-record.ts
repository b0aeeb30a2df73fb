/**
 * @module The feed's record of a step: what its accepted writes were (author, stamped messages,
 * members, read positions, profiles, notes), kept from the commit until the step is durable, then
 * published with the persisted update as one `Change`.
 */
import type { DocName } from '../../shared/keys.js';
import type { Identity } from '../auth/identity.js';
import type { Change, ChangeOrigin } from '../feed/types.js';
import type { CommitPlan, Committed } from './commit.js';
import type { Origin, StepUpdate } from './peer.js';

/** What the current step's accepted writes were. */
export type StepRecord = Pick<
  Change,
  'author' | 'messages' | 'members' | 'reads' | 'profiles' | 'notes'
> & {
  /** Server time the writes were accepted at (else: when the step is published). */
  at?: number;
};

/** A step with no accepted writes (a server write, say); `members` may be set over it. */
export const NOTHING_ACCEPTED: StepRecord = {
  messages: [],
  members: [],
  reads: [],
  profiles: [],
  notes: [],
};

/** The record of `plan` by `author`, accepted at `now` and committed as `committed`. */
export function recordOf(
  author: Identity,
  plan: CommitPlan,
  committed: Committed,
  now: number,
): StepRecord {
  return {
    at: now,
    author: author.id,
    messages: committed.stamped,
    members: [...(plan.writes.get('members')?.keys() ?? [])],
    reads: readsOf(plan.writes.get('reads')),
    profiles: [...(plan.writes.get('profiles') ?? [])],
    notes: plan.notes,
  };
}

/** The change published for a durable step: `update` as persisted, from `batch`'s origins. */
export function changeOf(
  doc: DocName,
  update: Uint8Array,
  batch: readonly StepUpdate[],
  record: StepRecord,
  now: () => number,
): Change {
  return {
    doc,
    update,
    origins: batch.flatMap((b) => changeOrigins(b.origin)),
    ...record,
    at: record.at ?? now(),
  };
}

/** The serializable form of an origin: a peer by its identity (and the stamps it carries). */
function changeOrigins(origin: Origin): ChangeOrigin[] {
  if (origin.source === 'server') return [{ source: 'server', reason: origin.reason }];
  const peer: ChangeOrigin = { source: 'peer', identity: origin.peer.identity.id };
  return origin.stamped ? [peer, { source: 'server', reason: 'stamp' }] : [peer];
}

/** Read positions written: read key → seq (other values are not positions). */
function readsOf(
  reads: ReadonlyMap<string, unknown> | undefined,
): Array<readonly [string, number]> {
  const moved: Array<readonly [string, number]> = [];
  for (const [key, value] of reads ?? []) if (typeof value === 'number') moved.push([key, value]);
  return moved;
}
