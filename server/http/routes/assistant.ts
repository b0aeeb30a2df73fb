/**
 * @module Customer service for platform staff: the open (status 1) `assistant_` conversations,
 * most recently active first, from the snapshot tables, so an admin can pick whom to answer
 * (POST /messages/assistant with `customerId`). Mounted under /conversations.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { ConversationStatus, ConversationType } from '../../../shared/enums.js';
import { ConvosyncError } from '../../../shared/errors.js';
import { type AuthEnv, staffOnly } from '../../auth/middleware.js';
import type { Sql } from '../../db/connect.js';
import type { Projector } from '../../projector/projector.js';
import { ok, type PageList, pageQuery, valid } from '../envelope.js';

export interface OpenAssistantConversation {
  conversationId: string;
  conversationKey: string;
  customerId: string;
  lastActiveTime: number | null;
  lastMessageId: string | null;
  /** Admins who answered (members with role admin). */
  answeredBy: string[];
}

export function assistantRoutes(deps: { sql?: Sql; projector?: Projector }): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.get(
    '/assistant/list',
    staffOnly,
    valid(
      'query',
      z.object({
        ...pageQuery,
      }),
    ),
    async (c) => {
      const { sql, projector } = deps;
      if (!sql || !projector)
        throw new ConvosyncError('STORAGE_UNAVAILABLE', 'this list needs the snapshot tables');
      await projector.flush().catch(() => undefined);
      const { pageNum, pageSize } = c.req.valid('query');
      const open = sql`FROM t_conversation c WHERE c.conversation_type = ${ConversationType.Assistant}
        AND c.status = ${ConversationStatus.Normal}`;
      const rows = await sql<
        {
          conversation_id: string;
          conversation_key: string;
          last_active_time: string | null;
          last_message_id: string | null;
          admins: string[] | null;
        }[]
      >`
        SELECT c.conversation_id::text AS conversation_id, c.conversation_key, c.last_active_time::text AS last_active_time,
          c.last_message_id::text AS last_message_id,
          (SELECT array_agg(m.identity_id ORDER BY m.join_time) FROM t_conversation_member m
           WHERE m.conversation_id = c.conversation_id AND m.member_role = 2 AND m.member_status = 1) AS admins
        ${open}
        ORDER BY c.last_active_time DESC NULLS LAST, c.conversation_id DESC
        LIMIT ${pageSize} OFFSET ${(pageNum - 1) * pageSize}`;
      const [count] = await sql<{ n: string }[]>`SELECT count(*)::text AS n ${open}`;
      const page: PageList<OpenAssistantConversation> = {
        list: rows.map((r) => ({
          conversationId: r.conversation_id,
          conversationKey: r.conversation_key,
          customerId: r.conversation_key.slice('assistant_'.length),
          lastActiveTime: r.last_active_time === null ? null : Number(r.last_active_time),
          lastMessageId: r.last_message_id,
          answeredBy: r.admins ?? [],
        })),
        total: Number(count?.n ?? 0),
        pageNum,
        pageSize,
        nextCursor: null,
      };
      return c.json(ok(page));
    },
  );
  return app;
}
