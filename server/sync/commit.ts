/**
 * @module The server writes that follow accepted writes, for both writers (a socket's update,
 * already applied, or a submitted set, applied here by `apply`), in one server transaction:
 * bindings, a group's id and creation time, member times, an answering admin enlisted, the
 * censoring of new messages, system notes, stamps of new messages (in written order, notes
 * where their change was made) and recall times.
 *
 * It only writes to the document and says what must follow (effects); the room persists,
 * publishes and carries the effects out, so this never calls back into the room.
 */
import type * as Y from 'yjs';
import { unstampedKeys } from '../../shared/conversation.js';
import {
  ConversationType,
  MemberRole,
  MemberStatus,
  MessageFormat,
  PlatformRole,
} from '../../shared/enums.js';
import { type MessageKey, newMessageKey } from '../../shared/ids.js';
import type { ParsedDoc } from '../../shared/keys.js';
import { activeRole } from '../../shared/rules/access.js';
import {
  conversationRoots,
  type Message,
  type Stamp,
  type SystemEvent,
} from '../../shared/schema.js';
import { describeSystemEvent } from '../../shared/system-events.js';
import type { Identity } from '../auth/identity.js';
import type { StampedMessage } from '../feed/types.js';
import type { IdGenerator } from '../message-ids.js';
import type { Moderation } from '../moderation/moderation.js';
import type { Plan } from './filter.js';
import { stampMemberTimes } from './member-times.js';
import { withNotes } from './note-order.js';
import type { Stamper } from './stamp.js';

export type CommitPlan = Pick<Plan, 'bind' | 'writes' | 'recalls' | 'notes' | 'noteAt' | 'created'>;

export interface CommitContext {
  doc: Y.Doc;
  parsed: ParsedDoc;
  stamper: Stamper;
  ids: IdGenerator;
  moderation?: Moderation;
}

/** What the room must do once the commit's transaction is written to the document. */
export interface CommitEffects {
  /** Close the sockets of identities that may no longer read (the writes changed members). */
  closeUnreadable: boolean;
  /** Merge the stored log after the step (a recall: recalled content leaves the disk too). */
  compact: boolean;
  /** New messages were overwritten with their censored copies: persist and send the doc's view. */
  censored: boolean;
}

export interface Committed {
  /** Stamps of the new messages and notes, in seq order (REST answers with them). */
  stamps: Stamp[];
  /** The same, with their message keys (the change feed). */
  stamped: StampedMessage[];
  effects: CommitEffects;
}

/** Runs the server transaction that follows accepted `plan` by `author` at server time `now`. */
export function commit(
  ctx: CommitContext,
  author: Identity,
  plan: CommitPlan,
  now: number,
  apply?: () => void,
): Committed {
  const { doc, stamper } = ctx;
  const { meta, messages, stamps: stampMap } = conversationRoots(doc);
  const genesis = plan.writes.get('meta')?.has('key') === true && !meta.has('conversationId');
  const written = plan.writes.get('messages');
  let stamps: Stamp[] = [];
  const stamped: StampedMessage[] = [];
  let censored = false;
  if (
    apply ||
    genesis ||
    plan.bind.length > 0 ||
    (written?.size ?? 0) > 0 ||
    plan.recalls.length > 0 ||
    plan.notes.length > 0
  ) {
    const origin = { source: 'server', reason: apply ? 'submit' : 'stamp' } as const;
    stamper.write(doc, origin, () => {
      apply?.();
      stampMemberTimes(doc, plan.notes, now);
      if (genesis) {
        // A group's id and creation time come from the server, like every other stamp.
        meta.set('conversationId', ctx.ids.next());
        meta.set('createdAt', now);
      }
      stamper.bind(doc, plan.bind, author.id);
      enlistAnsweringAdmin(doc, ctx.parsed, author, written, now);
      const fresh = written ? inWrittenOrder(doc, unstampedKeys(doc, written.keys())) : [];
      if (ctx.moderation?.censor(doc, fresh)) censored = true;
      // System messages, in the same transaction, stand where the batch made the change.
      const notes = plan.notes.map((event) => systemMessage(event, author, now));
      for (const message of notes) messages.set(message.key, message);
      const at = new Map(plan.created?.map((c) => [c.key, { client: c.clientId, clock: c.clock }]));
      const ordered = withNotes(
        fresh.map((key) => ({ key, at: at.get(key), sentAt: messages.get(key)?.sentAt ?? 0 })),
        notes.map((m, i) => ({ key: m.key as MessageKey, at: plan.noteAt?.[i] })),
      );
      const before = stamper.lastSeq;
      stamps = stamper.stamp(doc, ordered, now);
      for (const key of ordered) {
        const stamp = stampMap.get(key);
        if (stamp && stamp.seq > before)
          stamped.push({ key, seq: stamp.seq, id: stamp.id, at: stamp.at });
      }
      stamper.recall(doc, plan.recalls, now);
    });
  }
  return {
    stamps,
    stamped,
    effects: {
      closeUnreadable: plan.writes.has('members'),
      compact: plan.recalls.length > 0,
      censored,
    },
  };
}

/** The log entry that reports `event`, in the name of the identity that caused it. */
export function systemMessage(event: SystemEvent, author: Identity, now: number): Message {
  return {
    key: newMessageKey(),
    sender: author.id,
    senderType: author.type,
    format: MessageFormat.Text,
    content: describeSystemEvent(event),
    sentAt: now,
    system: event,
  };
}

/**
 * In customer service (`assistant_{id}`), any platform admin may answer; the first answer
 * makes that admin a member (role admin), so the conversation shows who answered, the tables
 * list it, and its inbox lists the conversation.
 */
function enlistAnsweringAdmin(
  doc: Y.Doc,
  parsed: ParsedDoc,
  author: Identity,
  written: ReadonlyMap<string, unknown> | undefined,
  now: number,
): void {
  if (parsed.type !== ConversationType.Assistant || author.role !== PlatformRole.Admin) return;
  if (author.id === parsed.owner || activeRole(doc, author.id) !== undefined) return;
  const { messages, members } = conversationRoots(doc);
  const answered = [...(written?.keys() ?? [])].some(
    (key) => messages.get(key)?.sender === author.id,
  );
  if (!answered) return;
  members.set(author.id, {
    identityType: author.type,
    role: MemberRole.Admin,
    status: MemberStatus.Active,
    joinTime: now,
  });
}

/** Orders keys as their senders wrote them, so an offline batch keeps its order in `seq`. */
function inWrittenOrder(doc: Y.Doc, keys: MessageKey[]): MessageKey[] {
  const { messages } = conversationRoots(doc);
  return keys.sort(
    (a, b) => (messages.get(a)?.sentAt ?? 0) - (messages.get(b)?.sentAt ?? 0) || (a < b ? -1 : 1),
  );
}
