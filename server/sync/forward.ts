/**
 * @module Forwarded messages: a forward is accepted only when its author may read the source and
 * the forward carries the source's content. The source may live in another conversation, which
 * the registry looks up (`source`); the room never loads another room itself.
 */
import type * as Y from 'yjs';
import { ConvosyncError } from '../../shared/errors.js';
import type { ParsedDoc } from '../../shared/keys.js';
import { forwardRefusal } from '../../shared/message.js';
import { canRead } from '../../shared/rules/access.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import type { Plan, Rejection } from './filter.js';

/** Message `from.key` of conversation `from.conversation`, if `identity` may read it. */
export type ForwardSource = (
  identity: Identity,
  from: { conversation: string; key: string },
) => Promise<Message | undefined>;

/** The first forward whose source `identity` cannot read, or whose content is not the source's. */
export async function badForward(
  doc: Y.Doc,
  parsed: ParsedDoc,
  identity: Identity,
  plan: Pick<Plan, 'forwards' | 'writes'>,
  source: ForwardSource,
): Promise<Rejection | undefined> {
  for (const forward of plan.forwards) {
    const original =
      forward.from.conversation === parsed.key
        ? canRead(doc, parsed, identity)
          ? conversationRoots(doc).messages.get(forward.from.key)
          : undefined
        : await source(identity, forward.from);
    const written = plan.writes.get('messages')?.get(forward.key) as Message;
    const refusal = forwardRefusal(written, original);
    if (refusal) {
      const error = new ConvosyncError(refusal.code, refusal.message);
      return { error, clientId: forward.clientId, clock: forward.clock };
    }
  }
  return undefined;
}
