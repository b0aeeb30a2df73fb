/**
 * @module Message search over the snapshot tables: the messages of the conversations an identity
 * can read now whose text contains the query, newest first.
 *
 * The match is `content ILIKE '%q%'` (LIKE metacharacters escaped), not full-text search: it
 * needs no word splitting, so Chinese works like English, and the GIN trigram index of
 * migration 002 accelerates it for queries of 3+ characters. 1–2 character queries (common in
 * Chinese) stay correct; Postgres then scans the caller's candidate rows instead.
 *
 * Readable = what `canRead` and the history setting allow: an active member row (status 1;
 * system and assistant owners are members too), and, where a group has
 * `enableMessageHistory: false`, only messages accepted at or after the member's join time.
 * Recalled messages are never found: the projector writes their content as NULL. A group's
 * system messages ("alice invited bob", message_type 2 outside system conversations) are log
 * events, not text anyone wrote, and are not found either; notices in a system conversation are.
 */
import { ConversationType } from '../../shared/enums.js';
import type { Sql } from '../db/connect.js';
import type { PageList } from '../http/envelope.js';
import { MessageType } from '../projector/rows.js';

export interface MessageSearch {
  identityId: string;
  /** Already trimmed and validated (1–100 characters). */
  q: string;
  conversationKey?: string;
  sender?: string;
  format?: number;
  /** A message id: only older messages (the previous page's `nextCursor`). */
  before?: string;
  pageNum: number;
  pageSize: number;
}

export interface MessageHit {
  conversationKey: string;
  messageKey: string;
  /** BIGINT as a decimal string. */
  messageId: string;
  seq: number;
  sender: string;
  senderType: number;
  format: number;
  content: string;
  /** When the server accepted it (ms). */
  createdAt: number;
}

interface HitRow {
  conversation_key: string;
  client_message_key: string;
  message_id: string;
  conversation_seq: string;
  sender_identity_id: string;
  sender_identity_type: number;
  message_format: number;
  content: string;
  create_time: string;
}

/** `%`, `_` and the escape character itself match literally. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `FROM … WHERE …` of the messages `search` finds (aliases m, c, b); `npm run bench:search` EXPLAINs it. */
export function matching(sql: Sql, search: Omit<MessageSearch, 'pageNum' | 'pageSize'>) {
  const { identityId, q, conversationKey, sender, format, before } = search;
  return sql`
    FROM t_conversation_member m
    JOIN t_conversation c ON c.conversation_id = m.conversation_id
    JOIN t_msg_body b ON b.conversation_id = c.conversation_id::text
    WHERE m.identity_id = ${identityId} AND m.member_status = 1
      AND b.content ILIKE ${likePattern(q)} AND NOT b.is_recalled
      AND (b.message_type = ${MessageType.User} OR c.conversation_type = ${ConversationType.System})
      AND (COALESCE((c.setting->>'enableMessageHistory')::boolean, TRUE) OR b.create_time >= m.join_time)
      ${conversationKey === undefined ? sql`` : sql`AND c.conversation_key = ${conversationKey}`}
      ${sender === undefined ? sql`` : sql`AND b.sender_identity_id = ${sender}`}
      ${format === undefined ? sql`` : sql`AND b.message_format = ${format}`}
      ${before === undefined ? sql`` : sql`AND b.message_id < ${before}`}`;
}

export async function searchMessages(
  sql: Sql,
  search: MessageSearch,
): Promise<PageList<MessageHit>> {
  const { pageNum, pageSize, before } = search;
  const offset = before === undefined ? (pageNum - 1) * pageSize : 0;
  // One snapshot for the page and its total.
  const { rows, total } = await sql.begin('ISOLATION LEVEL REPEATABLE READ', async (t) => {
    const tx = t as unknown as Sql;
    // The driver prepares statements; after 5 runs Postgres may switch to a generic plan, which
    // cannot judge `ILIKE $1` and ignores the trigram index: measured 10x slower (bench:search).
    await tx`SET LOCAL plan_cache_mode = force_custom_plan`;
    const where = matching(tx, search);
    // Message ids grow with time (ms in the high bits), so id order is newest first, a stable
    // cursor, and the primary key serves the ORDER BY.
    const page = await tx<HitRow[]>`
      SELECT c.conversation_key, b.client_message_key, b.message_id::text AS message_id,
        b.conversation_seq::text AS conversation_seq, b.sender_identity_id, b.sender_identity_type,
        b.message_format, b.content, b.create_time::text AS create_time
      ${where}
      ORDER BY b.message_id DESC
      LIMIT ${pageSize} OFFSET ${offset}`;
    const [count] = await tx<{ n: string }[]>`SELECT count(*)::text AS n ${where}`;
    return { rows: [...page], total: Number(count?.n ?? 0) };
  });
  const list = rows.map(
    (r): MessageHit => ({
      conversationKey: r.conversation_key,
      messageKey: r.client_message_key.trim(),
      messageId: r.message_id,
      seq: Number(r.conversation_seq),
      sender: r.sender_identity_id,
      senderType: r.sender_identity_type,
      format: r.message_format,
      content: r.content,
      createdAt: Number(r.create_time),
    }),
  );
  const last = list[list.length - 1];
  return {
    list,
    total,
    pageNum,
    pageSize,
    nextCursor: last && offset + list.length < total ? last.messageId : null,
  };
}
