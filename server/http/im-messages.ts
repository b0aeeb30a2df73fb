/**
 * @module pageIMMessages (MessageQueryFacade, seed §6): the IM messages an identity can read,
 * across its conversations, newest first, from the snapshot tables. Readable is what search
 * uses (server/search/message-search.ts): an active member row, and the history setting.
 * Old message-centre rows (no conversation) and a group's system messages are not IM messages.
 */
import { ConversationType } from '../../shared/enums.js';
import type { Sql } from '../db/connect.js';
import { MessageType } from '../projector/rows.js';
import type { PageList } from './envelope.js';
import type { MessageResponseVO } from './message-vo.js';

export interface ImMessagesQuery {
  pageNum: number;
  pageSize: number;
  conversationId?: string;
  messageFormat?: number;
}

type ImMessage = Omit<
  MessageResponseVO,
  'file' | 'card' | 'cardState' | 'forwardedFrom' | 'system'
>;

export async function pageImMessages(
  sql: Sql,
  identityId: string,
  query: ImMessagesQuery,
): Promise<PageList<ImMessage>> {
  const { pageNum, pageSize, conversationId, messageFormat } = query;
  const where = sql`
    FROM t_conversation_member m
    JOIN t_conversation c ON c.conversation_id = m.conversation_id
    JOIN t_msg_body b ON b.conversation_id = c.conversation_id::text
    WHERE m.identity_id = ${identityId} AND m.member_status = 1
      AND (b.message_type = ${MessageType.User} OR c.conversation_type = ${ConversationType.System})
      AND (COALESCE((c.setting->>'enableMessageHistory')::boolean, TRUE) OR b.create_time >= m.join_time)
      ${conversationId === undefined ? sql`` : sql`AND c.conversation_id = ${conversationId}`}
      ${messageFormat === undefined ? sql`` : sql`AND b.message_format = ${messageFormat}`}`;
  const rows = await sql<Record<string, string | number | boolean | null>[]>`
    SELECT b.message_id::text AS message_id, b.conversation_id, b.sender_identity_id, b.sender_identity_type,
      b.content, b.message_format, b.create_time::text AS create_time, b.reply_to_message_id::text AS reply_to_message_id,
      b.file_url, b.file_size::text AS file_size, b.duration, b.is_recalled, b.recall_time::text AS recall_time,
      c.conversation_key, b.client_message_key, b.conversation_seq::text AS conversation_seq
    ${where}
    ORDER BY b.message_id DESC
    LIMIT ${pageSize} OFFSET ${(pageNum - 1) * pageSize}`;
  const [count] = await sql<{ n: string }[]>`SELECT count(*)::text AS n ${where}`;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const list = rows.map(
    (r): ImMessage => ({
      messageId: String(r.message_id),
      conversationId: String(r.conversation_id),
      senderId: String(r.sender_identity_id),
      content: r.content === null ? '' : String(r.content),
      messageFormat: Number(r.message_format),
      sendTime: Number(r.create_time),
      replyToMessageId: r.reply_to_message_id === null ? null : String(r.reply_to_message_id),
      fileUrl: r.file_url === null ? null : String(r.file_url),
      fileSize: num(r.file_size),
      duration: num(r.duration),
      isRecalled: Boolean(r.is_recalled),
      recallTime: num(r.recall_time),
      conversationKey: String(r.conversation_key),
      messageKey: String(r.client_message_key).trim(),
      seq: Number(r.conversation_seq),
      senderType: Number(r.sender_identity_type),
    }),
  );
  return { list, total: Number(count?.n ?? 0), pageNum, pageSize, nextCursor: null };
}
