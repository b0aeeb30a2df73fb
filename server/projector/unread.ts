/**
 * @module The unread counts in SQL: shared/rules/unread.ts's four clauses over t_msg_body's
 * columns, for every member of one conversation at once (a conversation can hold 100k messages;
 * counting in the database avoids shipping them). Clause by clause:
 * 1. after the read position      -> b.conversation_seq > m.last_read_seq
 * 2. sent by someone else         -> b.sender_identity_id <> m.identity_id
 * 3. not a system message         -> message_type is a member's message, or the conversation is a
 *    `system_` one (its notices are messages; rows.ts gives system messages MessageType.Notice)
 * 4. not recalled                 -> NOT b.is_recalled
 * test/e2e/unread.test.ts checks that this, the inbox, REST and the checker agree.
 */
import { ConversationType } from '../../shared/enums.js';
import type { Sql } from '../db/connect.js';
import { MessageType } from './rows.js';

/** Recomputes `unread_count` of every member of conversations `ids` (inside the projection). */
export async function refreshUnreadCounts(tx: Sql, ids: readonly string[]): Promise<void> {
  await tx`
    UPDATE t_conversation_member m SET
      unread_count = (
        SELECT count(*) FROM t_msg_body b
        -- t_msg_body.conversation_id is VARCHAR (the seed's column): compare as text, indexed.
        WHERE b.conversation_id = m.conversation_id::text
          AND b.conversation_seq > m.last_read_seq
          AND b.sender_identity_id <> m.identity_id
          AND (b.message_type = ${MessageType.User} OR c.conversation_type = ${ConversationType.System})
          AND NOT b.is_recalled)
    FROM t_conversation c
    WHERE m.conversation_id = ANY(${tx.array(ids as string[])}::bigint[]) AND c.conversation_id = m.conversation_id`;
}
