/**
 * @module REST for conversations (seed section 13): the caller's conversation list, read from the
 * snapshot tables (projected up to now first), newest activity first, with unread counts and a
 * last-message preview (a recalled message previews as recalled).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { type Action, genesisWrites } from '../../../shared/actions.js';
import { lastSeq } from '../../../shared/conversation.js';
import { MemberRole } from '../../../shared/enums.js';
import { ConvosyncError } from '../../../shared/errors.js';
import type { DeviceId } from '../../../shared/ids.js';
import { asIdentityId } from '../../../shared/ids.js';
import { type ConversationKey, groupKey, parseKey, privateKey } from '../../../shared/keys.js';
import { activeRole, canRead } from '../../../shared/rules/access.js';
import { conversationRoots, readKey } from '../../../shared/schema.js';
import type { Identity } from '../../auth/identity.js';
import type { AuthEnv } from '../../auth/middleware.js';
import type { Sql } from '../../db/connect.js';
import type { Projector } from '../../projector/projector.js';
import type { ServerRooms } from '../../sync/rooms.js';
import {
  actOnConversation,
  conversationKeyOf,
  readConversation,
  refuseStranger,
} from '../conversation-param.js';
import { type ConversationResponseVO, conversationVO } from '../conversation-vo.js';
import { ok, type PageList, pageQuery, returnsBoolean, valid } from '../envelope.js';

export interface ConversationRoutesDeps {
  rooms: ServerRooms;
  sql?: Sql;
  projector?: Projector;
}

/** The read position REST callers move (shared with routes/messages.ts). */
export const REST_DEVICE = 'rest-api' as DeviceId;

export const identityId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,49}$/, 'an identity id');

/** A list row: ConversationResponseVO's fields from the tables, and the last message. */
interface ConversationItem
  extends Pick<
    ConversationResponseVO,
    | 'conversationId'
    | 'conversationKey'
    | 'conversationType'
    | 'conversationName'
    | 'conversationAvatar'
    | 'status'
    | 'lastMessageId'
    | 'currentMemberCount'
    | 'maxMemberCount'
    | 'unreadCount'
    | 'memberRole'
  > {
  lastActiveTime: number | null;
  lastMessage: {
    messageId: string;
    senderId: string;
    messageFormat: number;
    preview: string;
    isRecalled: boolean;
  } | null;
}

const invitee = z
  .object({
    identityId,
    identityType: z.number().int(),
    role: z.union([z.literal(MemberRole.Member), z.literal(MemberRole.Admin)]).optional(),
  })
  .strict();

export function conversationRoutes(deps: ConversationRoutesDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.get('/unread', async (c) => {
    const { sql, projector } = deps;
    if (!sql || !projector) {
      throw new ConvosyncError(
        'STORAGE_UNAVAILABLE',
        'unread statistics need the snapshot tables (SNAPSHOTS=off)',
      );
    }
    await projector.flush().catch(() => undefined);
    const me = c.get('identity').id;
    const rows = await sql<{ conversation_key: string; unread_count: string }[]>`
      SELECT c.conversation_key, m.unread_count FROM t_conversation_member m JOIN t_conversation c USING (conversation_id)
      WHERE m.identity_id = ${me} AND m.member_status = 1 AND m.unread_count > 0 ORDER BY c.last_active_time DESC`;
    const byConversation = rows.map((r) => ({
      conversationKey: r.conversation_key,
      unreadCount: Number(r.unread_count),
    }));
    const total = byConversation.reduce((n, r) => n + r.unreadCount, 0);
    return c.json(ok({ total, conversations: byConversation.length, byConversation }));
  });

  app.get(
    '/list',
    valid(
      'query',
      z.object({
        ...pageQuery,
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
      // A private chat shows the other party: its nickname (else its id) and avatar, as the inbox.
      const rows = await sql<Record<string, unknown>[]>`
        SELECT c.conversation_id, c.conversation_key, c.conversation_type,
               CASE WHEN c.conversation_type = 'private' THEN coalesce(o.nickname, o.identity_id) ELSE c.conversation_name END AS conversation_name,
               CASE WHEN c.conversation_type = 'private' THEN o.avatar ELSE c.conversation_avatar END AS conversation_avatar,
               c.status, c.last_active_time, c.last_message_id, c.current_member_count, c.max_member_count,
               m.member_role, m.member_status, m.unread_count,
               b.message_id, b.sender_identity_id, b.message_format, b.content, b.is_recalled
        FROM t_conversation_member m
        JOIN t_conversation c ON c.conversation_id = m.conversation_id
        LEFT JOIN t_conversation_member o ON c.conversation_type = 'private'
          AND o.conversation_id = c.conversation_id AND o.identity_id <> m.identity_id
        LEFT JOIN t_msg_body b ON b.message_id = c.last_message_id
        WHERE m.identity_id = ${me} AND m.member_status = 1
        ORDER BY c.last_active_time DESC NULLS LAST, c.conversation_id DESC
        LIMIT ${pageSize} OFFSET ${(pageNum - 1) * pageSize}`;
      const list: ConversationItem[] = rows.map((r) => ({
        conversationId: String(r.conversation_id),
        conversationKey: String(r.conversation_key),
        conversationType: String(r.conversation_type),
        conversationName: (r.conversation_name as string | null) ?? null,
        conversationAvatar: (r.conversation_avatar as string | null) ?? null,
        status: Number(r.status),
        lastMessageId: r.last_message_id === null ? null : String(r.last_message_id),
        currentMemberCount: Number(r.current_member_count),
        maxMemberCount: Number(r.max_member_count),
        memberRole: Number(r.member_role),
        unreadCount: Number(r.unread_count),
        lastActiveTime: r.last_active_time === null ? null : Number(r.last_active_time),
        lastMessage: r.message_id
          ? {
              messageId: String(r.message_id),
              senderId: String(r.sender_identity_id),
              messageFormat: Number(r.message_format),
              preview: r.is_recalled ? '' : String(r.content ?? '').slice(0, 100),
              isRecalled: Boolean(r.is_recalled),
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

  const keyOf = (param: string) => conversationKeyOf(deps, param);

  const readable = <T>(
    identity: Identity,
    param: string,
    read: (doc: import('yjs').Doc, key: ConversationKey) => T,
  ) => readConversation(deps, identity, param, read);
  const act = (identity: Identity, param: string, action: Action) =>
    actOnConversation(deps, identity, param, action);

  const detail = (doc: import('yjs').Doc, identity: Identity) =>
    conversationVO(doc, parseKey(String(conversationRoots(doc).meta.get('key'))), identity.id);

  app.post(
    '/group',
    valid(
      'json',
      z
        .object({
          name: z.string().min(1).max(100),
          members: z
            .array(z.object({ identityId, identityType: z.number().int() }).strict())
            .max(499),
          maxMemberCount: z.number().int().min(2).max(500).optional(),
        })
        .strict(),
    ),
    async (c) => {
      const identity = c.get('identity');
      const body = c.req.valid('json');
      const key = groupKey();
      const members = body.members.map((m) => ({
        identity: asIdentityId(m.identityId),
        identityType: m.identityType,
      }));
      const created = await deps.rooms.use(key, identity, async (room) => {
        await room.submit(
          identity,
          genesisWrites(
            key,
            {
              name: body.name,
              members,
              ...(body.maxMemberCount ? { maxMemberCount: body.maxMemberCount } : {}),
            },
            identity,
            Date.now(),
          ),
        );
        return detail(room.doc, identity);
      });
      return c.json(ok(created));
    },
  );

  app.post('/private', valid('json', z.object({ identityId }).strict()), async (c) => {
    const identity = c.get('identity');
    const key = privateKey(identity.id, asIdentityId(c.req.valid('json').identityId));
    // Created on first open, exactly once.
    const opened = await deps.rooms.use(key, identity, (room) =>
      room.read((doc) => detail(doc, identity)),
    );
    return c.json(ok(opened));
  });

  app.get('/:conversationId', async (c) =>
    c.json(
      ok(
        await readable(c.get('identity'), c.req.param('conversationId'), (doc) =>
          detail(doc, c.get('identity')),
        ),
      ),
    ),
  );

  app.get('/:conversationId/members', async (c) =>
    c.json(
      ok(
        await readable(c.get('identity'), c.req.param('conversationId'), (doc) =>
          [...conversationRoots(doc).members.entries()].map(([identityId, m]) => ({
            identityId,
            ...m,
          })),
        ),
      ),
    ),
  );

  app.get('/:conversationId/role', async (c) =>
    c.json(
      ok(
        await readable(c.get('identity'), c.req.param('conversationId'), (doc) => ({
          role: activeRole(doc, c.get('identity').id) ?? null,
        })),
      ),
    ),
  );

  app.post(
    '/:conversationId/members',
    returnsBoolean,
    valid(
      'json',
      // One member, or several at once (inviteMembersToGroup): all or none, in one transaction.
      z.union([invitee, z.object({ members: z.array(invitee).min(1).max(499) }).strict()]),
    ),
    async (c) => {
      const body = c.req.valid('json');
      const actions: Action[] = ('members' in body ? body.members : [body]).map((m) => ({
        kind: 'invite',
        identity: asIdentityId(m.identityId),
        identityType: m.identityType,
        ...(m.role ? { role: m.role } : {}),
      }));
      await actOnConversation(deps, c.get('identity'), c.req.param('conversationId'), actions);
      return c.json(ok(true)); // Response<Boolean>
    },
  );

  app.delete('/:conversationId/members/:memberId', returnsBoolean, async (c) => {
    // The spec's memberId is the member's identity id (MemberExitedEvent.memberId is a String).
    const action: Action = { kind: 'remove', identity: asIdentityId(c.req.param('memberId')) };
    await act(c.get('identity'), c.req.param('conversationId'), action);
    return c.json(ok(true)); // Response<Boolean>
  });

  app.put(
    '/:conversationId/settings',
    returnsBoolean,
    valid(
      'json',
      z
        .object({
          allowInvite: z.boolean().optional(),
          allowMemberExit: z.boolean().optional(),
          enableMessageHistory: z.boolean().optional(),
          messageRetentionDays: z.number().int().min(0).max(3650).optional(),
          enableNotification: z.boolean().optional(),
        })
        .strict(),
    ),
    async (c) => {
      const settings = Object.fromEntries(
        Object.entries(c.req.valid('json')).filter(([, v]) => v !== undefined),
      );
      await act(c.get('identity'), c.req.param('conversationId'), {
        kind: 'updateSettings',
        settings,
      });
      return c.json(ok(true)); // Response<Boolean>
    },
  );

  app.put('/:conversationId/read', returnsBoolean, async (c) => {
    // Everything accepted so far, as the REST "device" of the caller (only forward).
    const identity = c.get('identity');
    const key = await keyOf(c.req.param('conversationId'));
    refuseStranger(parseKey(key), identity);
    await deps.rooms.use(key, identity, async (room) => {
      if (!conversationRoots(room.doc).meta.has('conversationId'))
        throw new ConvosyncError('CONVERSATION_NOT_FOUND');
      if (!canRead(room.doc, parseKey(key), identity)) throw new ConvosyncError('NOT_MEMBER');
      const seq = lastSeq(room.doc);
      const readsKey = readKey(identity.id, REST_DEVICE);
      if (seq > (conversationRoots(room.doc).reads.get(readsKey) ?? 0))
        await room.submit(identity, [{ root: 'reads', key: readsKey, value: seq }]);
    });
    return c.json(ok(true)); // Response<Boolean> (markConversationRead)
  });

  app.post('/:conversationId/dissolve', returnsBoolean, async (c) => {
    await act(c.get('identity'), c.req.param('conversationId'), { kind: 'dissolve' });
    return c.json(ok(true)); // Response<Boolean> (dissolveGroup)
  });

  app.post('/:conversationId/exit', returnsBoolean, async (c) => {
    await act(c.get('identity'), c.req.param('conversationId'), { kind: 'exit' });
    return c.json(ok(true)); // Response<Boolean> (exitGroup)
  });

  return app;
}
