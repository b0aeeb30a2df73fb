/**
 * @module REST for conversations (seed section 13): the caller's conversation list, read from the
 * snapshot tables (projected up to now first), newest activity first, with unread counts and a
 * last-message preview (a recalled message previews as recalled).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { ConvosyncError } from '../../../shared/errors.js';
import type { AuthEnv } from '../../auth/middleware.js';
import type { Sql } from '../../db/connect.js';
import type { Projector } from '../../projector/projector.js';
import { ok, type PageList, valid } from '../envelope.js';

export interface ConversationRoutesDeps {
  sql?: Sql;
  projector?: Projector;
}

interface ConversationItem {
  conversationId: string;
  conversationKey: string;
  conversationType: string;
  name: string | null;
  avatar: string | null;
  status: number;
  role: number;
  unreadCount: number;
  lastActiveTime: number | null;
  lastMessage: {
    messageId: string;
    sender: string;
    format: number;
    preview: string;
    recalled: boolean;
  } | null;
}

export function conversationRoutes(deps: ConversationRoutesDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.get(
    '/list',
    valid(
      'query',
      z.object({
        pageNum: z.coerce.number().int().min(1).default(1),
        pageSize: z.coerce.number().int().min(1).max(100).default(20),
      }),
    ),
    async (c) => {
      const { sql, projector } = deps;
      if (!sql || !projector)
        throw new ConvosyncError(
          'STORAGE_UNAVAILABLE',
          'the conversation list needs the snapshot tables (SNAPSHOTS=off)',
        );
      await projector.flush().catch(() => undefined); // read your own writes when the database is up
      const { pageNum, pageSize } = c.req.valid('query');
      const me = c.get('identity').id;
      const [count] = await sql<{ n: string }[]>`
        SELECT count(*) AS n FROM t_conversation_member WHERE identity_id = ${me} AND member_status = 1`;
      const rows = await sql<Record<string, unknown>[]>`
        SELECT c.conversation_id, c.conversation_key, c.conversation_type, c.conversation_name, c.conversation_avatar,
               c.status, c.last_active_time, m.member_role, m.unread_count,
               b.message_id, b.sender_identity_id, b.message_format, b.content, b.is_recalled
        FROM t_conversation_member m
        JOIN t_conversation c ON c.conversation_id = m.conversation_id
        LEFT JOIN t_msg_body b ON b.message_id = c.last_message_id
        WHERE m.identity_id = ${me} AND m.member_status = 1
        ORDER BY c.last_active_time DESC NULLS LAST, c.conversation_id DESC
        LIMIT ${pageSize} OFFSET ${(pageNum - 1) * pageSize}`;
      const list: ConversationItem[] = rows.map((r) => ({
        conversationId: String(r.conversation_id),
        conversationKey: String(r.conversation_key),
        conversationType: String(r.conversation_type),
        name: (r.conversation_name as string | null) ?? null,
        avatar: (r.conversation_avatar as string | null) ?? null,
        status: Number(r.status),
        role: Number(r.member_role),
        unreadCount: Number(r.unread_count),
        lastActiveTime: r.last_active_time === null ? null : Number(r.last_active_time),
        lastMessage: r.message_id
          ? {
              messageId: String(r.message_id),
              sender: String(r.sender_identity_id),
              format: Number(r.message_format),
              preview: r.is_recalled ? '' : String(r.content ?? '').slice(0, 100),
              recalled: Boolean(r.is_recalled),
            }
          : null,
      }));
      const page: PageList<ConversationItem> = {
        list,
        total: Number(count!.n),
        pageNum,
        pageSize,
        nextCursor: null,
      };
      return c.json(ok(page));
    },
  );

  return app;
}
