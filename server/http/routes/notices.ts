/**
 * @module REST for backend jobs (a `service` token): push system notices (audit results, order
 * status, announcements) into the `system_{identityId}` conversations of many identities at once,
 * and update card messages' business objects in place (an order card whose status changes).
 * Each write goes through the identity's room like any other, so its devices see it at once, and
 * its inbox shows it.
 */

import { Hono } from 'hono';
import { z } from 'zod';
import { MessageFormat } from '../../../shared/enums.js';
import { ConvosyncError } from '../../../shared/errors.js';
import { asIdentityId, isMessageKey, type MessageKey, newMessageKey } from '../../../shared/ids.js';
import { parseKey, systemKey } from '../../../shared/keys.js';
import { composeMessage } from '../../../shared/message.js';
import { type CardState, cardKey, conversationRoots } from '../../../shared/schema.js';
import { type AuthEnv, serviceOnly } from '../../auth/middleware.js';
import type { ServerRooms } from '../../sync/rooms.js';
import { ok, valid } from '../envelope.js';

/** Identities per notice request: large enough for a campaign batch, small enough for one call. */
export const MAX_NOTICE_RECIPIENTS = 1000;

const noticeBody = z.object({
  identities: z.array(z.string().min(1).max(50)).min(1).max(MAX_NOTICE_RECIPIENTS),
  /**
   * The job's own key for this notice (32 lowercase hex), the same in every recipient's
   * conversation: a batch retried after a timeout or a 503 sends nobody the notice twice.
   */
  clientMessageKey: z
    .string()
    .refine(isMessageKey, 'clientMessageKey: 32 lowercase hex characters')
    .optional(),
  content: z.string().max(5000).default(''),
  format: z.union([z.literal(MessageFormat.Text), z.literal(MessageFormat.Card)]).default(0),
  card: z
    .object({
      bizType: z.number().int().min(0),
      bizId: z.string().min(1).max(64),
      title: z.string().max(100).optional(),
    })
    .optional(),
});

const cardBody = z.object({
  conversationKeys: z.array(z.string()).min(1).max(MAX_NOTICE_RECIPIENTS),
  bizType: z.number().int().min(0),
  bizId: z.string().min(1).max(64),
  status: z.string().max(50).optional(),
  title: z.string().max(100).optional(),
  fields: z.record(z.string().max(40), z.string().max(200)).optional(),
});

export function noticeRoutes(deps: { rooms: ServerRooms }): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.use('*', serviceOnly);

  // One result per identity: a bad id or a full disk for one does not fail the others.
  app.post('/', valid('json', noticeBody), async (c) => {
    const service = c.get('identity');
    const body = c.req.valid('json');
    const results = [];
    for (const raw of new Set(body.identities)) {
      try {
        const key = systemKey(asIdentityId(raw));
        const message = composeMessage(
          {
            content: body.content,
            format: body.format,
            ...(body.card ? { card: body.card } : {}),
          },
          { identity: service.id, identityType: service.type },
          (body.clientMessageKey as MessageKey | undefined) ?? newMessageKey(),
          Date.now(),
        );
        const [stamp] = await deps.rooms.use(key, service, (room) =>
          room.submit(service, [{ root: 'messages', key: message.key, value: message }]),
        );
        results.push({
          identity: raw,
          conversationKey: key,
          messageKey: message.key,
          messageId: stamp!.id,
          seq: stamp!.seq,
        });
      } catch (error) {
        const code = error instanceof ConvosyncError ? error.code : 'INTERNAL';
        results.push({ identity: raw, error: code });
      }
    }
    return c.json(ok({ results }));
  });

  // The backend names the conversations it sent the card to (it sent it); each one's card
  // messages with this bizType:bizId show the new state.
  app.post('/cards', valid('json', cardBody), async (c) => {
    const { conversationKeys, bizType, bizId, status, title, fields } = c.req.valid('json');
    const state: CardState = { updatedAt: Date.now() };
    if (status !== undefined) state.status = status;
    if (title !== undefined) state.title = title;
    if (fields !== undefined) state.fields = fields;
    const results = [];
    for (const raw of new Set(conversationKeys)) {
      try {
        const key = parseKey(raw).key;
        const room = await deps.rooms.borrow(key);
        try {
          if (!(await room.read((doc) => hasCard(doc, bizType, bizId))))
            throw new ConvosyncError('NOT_FOUND', `no card ${bizType}:${bizId} in ${key}`);
          await room.apply('card', { key: cardKey({ bizType, bizId }), state });
        } finally {
          room.release();
        }
        results.push({ conversationKey: key, updated: true });
      } catch (error) {
        const code = error instanceof ConvosyncError ? error.code : 'INTERNAL';
        results.push({ conversationKey: raw, updated: false, error: code });
      }
    }
    return c.json(ok({ results }));
  });
  return app;
}

/** Whether a card message about this business object was sent in the conversation. */
function hasCard(doc: import('yjs').Doc, bizType: number, bizId: string): boolean {
  for (const message of conversationRoots(doc).messages.values()) {
    if (message.card?.bizType === bizType && message.card.bizId === bizId) return true;
  }
  return false;
}
