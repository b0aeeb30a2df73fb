/**
 * @module Deterministic conversations (private, system, assistant) exist without anyone creating
 * them: the server writes their genesis the first time a member, or a platform role that serves
 * them, opens one. A private chat's counterpart is written with identity type 0 (unknown then)
 * until it first connects, when its type is learned.
 */
import type * as Y from 'yjs';
import { genesisMembers, getMember, hasGenesis, writeGenesis } from '../../shared/conversation.js';
import { ConversationType, PlatformRole } from '../../shared/enums.js';
import type { IdentityId } from '../../shared/ids.js';
import type { ParsedDoc } from '../../shared/keys.js';
import { conversationRoots } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import type { IdGenerator } from '../message-ids.js';
import type { Origin } from './peer.js';
import type { Stamper } from './stamp.js';

export interface GenesisContext {
  doc: Y.Doc;
  parsed: ParsedDoc;
  stamper: Stamper;
  ids: IdGenerator;
  now: () => number;
}

/**
 * Writes the genesis of the conversation if it has none and `identity` may create it; returns
 * the members written, or undefined when it wrote nothing. Callers run it in the room's queue,
 * so two members connecting at the same moment produce one genesis.
 */
export function ensureGenesis(ctx: GenesisContext, identity: Identity): IdentityId[] | undefined {
  const { doc, parsed } = ctx;
  if (parsed.type === 'inbox' || hasGenesis(doc)) return undefined;
  const members = genesisMembers(parsed);
  if (!members) return undefined;
  const serves =
    (parsed.type === ConversationType.System && identity.role === PlatformRole.Service) ||
    (parsed.type === ConversationType.Assistant && identity.role === PlatformRole.Admin);
  if (!members.includes(identity.id) && !serves) return undefined;
  ctx.stamper.write(doc, { source: 'server', reason: 'genesis' } satisfies Origin, () =>
    writeGenesis(doc, {
      parsed,
      conversationId: ctx.ids.next(),
      now: ctx.now(),
      createdBy: identity.id,
      identityTypes: new Map([[identity.id, identity.type]]),
    }),
  );
  return members;
}

/** Writes `identity`'s type over the 0 of its member entry; returns whether it wrote. */
export function learnIdentityType(doc: Y.Doc, stamper: Stamper, identity: Identity): boolean {
  const member = getMember(doc, identity.id);
  if (member?.identityType !== 0 || identity.type === 0) return false;
  stamper.write(doc, { source: 'server', reason: 'identity-type' } satisfies Origin, () =>
    conversationRoots(doc).members.set(identity.id, { ...member, identityType: identity.type }),
  );
  return true;
}
