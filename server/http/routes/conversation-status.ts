/**
 * @module REST for the status operations (ConversationStatusFacade, seed §7) and the caller's
 * own notification mute:
 * - for the caller: activate, mute, archive its view of a conversation (its inbox preferences,
 *   synced to its devices: `muted`, `archived`), and `muteNotification` (its member profile,
 *   projected to t_conversation_member.mute_notification);
 * - for platform staff (admin or service tokens): the conversation's own status, 3 archived
 *   (read-only for everyone, CONVERSATION_ARCHIVED) or back to 1;
 * - canOperate: what the conversation's status allows (shared/rules/status.ts).
 * Mounted under /conversations.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { actionWrites } from '../../../shared/actions.js';
import { ConversationStatus } from '../../../shared/enums.js';
import { inboxKey } from '../../../shared/keys.js';
import { canOperate, OPERATIONS } from '../../../shared/rules/status.js';
import type { InboxPrefs } from '../../../shared/schema.js';
import type { Identity } from '../../auth/identity.js';
import { type AuthEnv, staffOnly } from '../../auth/middleware.js';
import {
  actOnConversation,
  type ConversationAccessDeps,
  conversationKeyOf,
  readConversation,
} from '../conversation-param.js';
import { ok, returnsBoolean, valid } from '../envelope.js';

export function conversationStatusRoutes(deps: ConversationAccessDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  /** Sets the caller's inbox preferences for a conversation it may read. */
  const prefs = async (identity: Identity, param: string, patch: InboxPrefs) => {
    const key = await readConversation(deps, identity, param, (_doc, k) => k);
    await deps.rooms.use(inboxKey(identity.id), identity, (inbox) =>
      inbox.submit(
        identity,
        actionWrites(
          inbox.doc,
          { kind: 'prefs', conversation: key, prefs: patch },
          identity,
          Date.now(),
        ),
      ),
    );
  };

  // activeConversation: back in the caller's list, notifications on.
  app.post('/:conversationId/activate', returnsBoolean, async (c) => {
    await prefs(c.get('identity'), c.req.param('conversationId'), {
      archived: false,
      muted: false,
    });
    return c.json(ok(true));
  });
  app.post('/:conversationId/mute', returnsBoolean, async (c) => {
    await prefs(c.get('identity'), c.req.param('conversationId'), { muted: true });
    return c.json(ok(true));
  });
  app.post('/:conversationId/archive', returnsBoolean, async (c) => {
    await prefs(c.get('identity'), c.req.param('conversationId'), { archived: true });
    return c.json(ok(true));
  });

  // ConversationMember.muteNotification, the caller's own.
  app.put(
    '/:conversationId/mute-notification',
    returnsBoolean,
    valid('json', z.object({ muteNotification: z.boolean() }).strict()),
    async (c) => {
      await actOnConversation(deps, c.get('identity'), c.req.param('conversationId'), {
        kind: 'profile',
        profile: { muteNotification: c.req.valid('json').muteNotification },
      });
      return c.json(ok(true));
    },
  );

  app.get(
    '/:conversationId/can-operate',
    returnsBoolean,
    valid('query', z.object({ operation: z.enum(OPERATIONS) })),
    async (c) => {
      const { operation } = c.req.valid('query');
      const allowed = await readConversation(
        deps,
        c.get('identity'),
        c.req.param('conversationId'),
        (doc) =>
          canOperate(doc.getMap('meta').get('status') as ConversationStatus | undefined, operation),
      );
      return c.json(ok(allowed));
    },
  );

  // The conversation's own status, by platform staff: archive (3) or activate again (1).
  app.put(
    '/:conversationId/status',
    staffOnly,
    returnsBoolean,
    valid(
      'json',
      z
        .object({
          status: z.union([
            z.literal(ConversationStatus.Normal),
            z.literal(ConversationStatus.Archived),
          ]),
        })
        .strict(),
    ),
    async (c) => {
      const key = await conversationKeyOf(deps, c.req.param('conversationId'));
      const { status } = c.req.valid('json');
      const room = await deps.rooms.borrow(key);
      try {
        await room.apply('status', { status });
      } finally {
        room.release();
      }
      return c.json(ok(true));
    },
  );

  return app;
}
