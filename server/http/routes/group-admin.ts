/**
 * @module REST for the group operations the spec defines beyond section 13's table: a member's
 * role (updateMemberRole), ownership transfer, and the group's name, avatar and announcement.
 * Each is one action through the room: the same rules as the sync path (shared/rules/roles.ts
 * for roles). Mounted under /conversations.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { MemberRole } from '../../../shared/enums.js';
import { asIdentityId } from '../../../shared/ids.js';
import type { AuthEnv } from '../../auth/middleware.js';
import { actOnConversation, type ConversationAccessDeps } from '../conversation-param.js';
import { ok, returnsBoolean, valid } from '../envelope.js';
import { identityId } from './conversations.js';

export function groupAdminRoutes(deps: ConversationAccessDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  // updateMemberRole: the owner sets 1 or 2; an admin sets admins back to 1 (README).
  app.put(
    '/:conversationId/members/:memberId/role',
    returnsBoolean,
    valid(
      'json',
      z
        .object({
          memberRole: z.union([z.literal(MemberRole.Member), z.literal(MemberRole.Admin)]),
        })
        .strict(),
    ),
    async (c) => {
      await actOnConversation(deps, c.get('identity'), c.req.param('conversationId'), {
        kind: 'setRole',
        identity: asIdentityId(c.req.param('memberId')),
        role: c.req.valid('json').memberRole,
      });
      return c.json(ok(true));
    },
  );

  // The owner hands the group to an active member and becomes an admin.
  app.post(
    '/:conversationId/transfer',
    returnsBoolean,
    valid('json', z.object({ memberId: identityId }).strict()),
    async (c) => {
      await actOnConversation(deps, c.get('identity'), c.req.param('conversationId'), {
        kind: 'transfer',
        to: asIdentityId(c.req.valid('json').memberId),
      });
      return c.json(ok(true));
    },
  );

  // The group's name, avatar and announcement (owner and admins).
  app.put(
    '/:conversationId/info',
    returnsBoolean,
    valid(
      'json',
      z
        .object({
          conversationName: z.string().min(1).max(100).optional(),
          conversationAvatar: z.string().max(255).optional(),
          announcement: z.string().max(2000).optional(),
        })
        .strict()
        .refine((b) => Object.keys(b).length > 0, 'at least one field'),
    ),
    async (c) => {
      const body = c.req.valid('json');
      await actOnConversation(deps, c.get('identity'), c.req.param('conversationId'), {
        kind: 'updateInfo',
        ...(body.conversationName === undefined ? {} : { name: body.conversationName }),
        ...(body.conversationAvatar === undefined ? {} : { avatar: body.conversationAvatar }),
        ...(body.announcement === undefined ? {} : { announcement: body.announcement }),
      });
      return c.json(ok(true));
    },
  );

  return app;
}
