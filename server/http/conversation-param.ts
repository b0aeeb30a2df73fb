/**
 * @module A conversation named in a REST path (by its key, `group_…`, `private_a_b`, …, or by
 * its BIGINT `conversationId`, the spec's paths, looked up in the snapshot tables), and access
 * to it: who is refused before anything is looked up, reading it, acting on it. Shared by every
 * route that names a conversation.
 */

import * as Y from 'yjs';
import { type Action, actionWrites } from '../../shared/actions.js';
import { hasGenesis } from '../../shared/conversation.js';
import { ConversationType } from '../../shared/enums.js';
import { ConvosyncError } from '../../shared/errors.js';
import { isBigintId } from '../../shared/ids.js';
import { type ConversationKey, type ParsedKey, parseKey } from '../../shared/keys.js';
import { type Author, canRead } from '../../shared/rules/access.js';
import type { Sql } from '../db/connect.js';
import type { Projector } from '../projector/projector.js';
import type { ServerRooms } from '../sync/rooms.js';

const NO_DOCUMENT = new Y.Doc();

export interface ConversationParamDeps {
  sql?: Sql;
  projector?: Projector;
}

export interface ConversationAccessDeps extends ConversationParamDeps {
  rooms: ServerRooms;
}

/** The key of the conversation `param` names; 404 for an id no conversation has. */
export async function conversationKeyOf(
  deps: ConversationParamDeps,
  param: string,
): Promise<ConversationKey> {
  if (!/^\d+$/.test(param)) return parseKey(param).key;
  if (!isBigintId(param))
    throw new ConvosyncError('BAD_REQUEST', 'conversationId: a BIGINT (1 to 9223372036854775807)');
  if (!deps.sql || !deps.projector)
    throw new ConvosyncError('BAD_REQUEST', 'use the conversation key (SNAPSHOTS=off)');
  const { sql } = deps;
  const row = await deps.projector.lookup(
    async () =>
      (
        await sql<
          { conversation_key: string }[]
        >`SELECT conversation_key FROM t_conversation WHERE conversation_id = ${param}`
      )[0],
    param,
  );
  if (!row) throw new ConvosyncError('CONVERSATION_NOT_FOUND');
  return parseKey(row.conversation_key).key;
}

/**
 * Refuses, before anything is looked up, a caller whom the key itself shuts out: a private
 * chat's key names its two parties, a system or customer-service key its owner. Answering a
 * stranger the same way whether or not the conversation exists keeps "who talks to whom"
 * private (a 403 for an existing chat and a 404 for a missing one would tell).
 */
export function refuseStranger(parsed: ParsedKey, author: Author): void {
  switch (parsed.type) {
    case ConversationType.Private:
      if (!parsed.members.includes(author.id)) throw new ConvosyncError('NOT_MEMBER');
      return;
    case ConversationType.System:
    case ConversationType.Assistant:
      // For these, canRead reads only the key and the author's platform role.
      if (!canRead(NO_DOCUMENT, parsed, author)) throw new ConvosyncError('NOT_MEMBER');
      return;
    case ConversationType.Group:
      return; // a group key is random: knowing one is being invited to it
  }
}

/** Reads a conversation the caller may read (durable state only); 404 for one never created. */
export async function readConversation<T>(
  deps: ConversationAccessDeps,
  identity: Author,
  param: string,
  read: (doc: Y.Doc, key: ConversationKey) => T,
): Promise<T> {
  const key = await conversationKeyOf(deps, param);
  refuseStranger(parseKey(key), identity);
  const room = await deps.rooms.borrow(key);
  try {
    // Between two steps of the room's queue, like the projector.
    return await room.read((doc) => {
      if (!hasGenesis(doc)) throw new ConvosyncError('CONVERSATION_NOT_FOUND');
      if (!canRead(doc, parseKey(key), identity)) throw new ConvosyncError('NOT_MEMBER');
      return read(doc, key);
    });
  } finally {
    room.release();
  }
}

/**
 * Runs an action (or several, as one transaction: all or none) on an existing conversation
 * through its room: the sync path's rules.
 */
export async function actOnConversation(
  deps: ConversationAccessDeps,
  identity: Author,
  param: string,
  action: Action | readonly Action[],
): Promise<ConversationKey> {
  const key = await conversationKeyOf(deps, param);
  refuseStranger(parseKey(key), identity);
  await deps.rooms.use(key, identity, async (room) => {
    if (!hasGenesis(room.doc)) throw new ConvosyncError('CONVERSATION_NOT_FOUND');
    const now = Date.now();
    const actions = Array.isArray(action) ? action : [action as Action];
    await room.submit(
      identity,
      actions.flatMap((a) => actionWrites(room.doc, a, identity, now)),
    );
  });
  return key;
}
