/**
 * @module REST for messages (seed section 13): send private and group messages, recall, mark
 * read, history. Every write goes through the same rules as the sync path and is applied as a
 * server transaction of the conversation's room, so connected clients see it at once.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { hasGenesis, listMessages } from '../../../shared/conversation.js';
import { ConversationType, MessageFormat } from '../../../shared/enums.js';
import { ConvosyncError } from '../../../shared/errors.js';
import { asIdentityId, isBigintId, newMessageKey } from '../../../shared/ids.js';
import { type ConversationKey, parseKey, privateKey, tryParseKey } from '../../../shared/keys.js';
import { composeMessage, type Draft, forwardDraft } from '../../../shared/message.js';
import { canRead } from '../../../shared/rules/access.js';
import { tombstone } from '../../../shared/rules/message.js';
import { conversationRoots, type Message, readKey } from '../../../shared/schema.js';
import type { AuthEnv } from '../../auth/middleware.js';
import type { Sql } from '../../db/connect.js';
import type { Projector } from '../../projector/projector.js';
import type { Rooms } from '../../sync/rooms.js';
import { conversationKeyOf, refuseStranger } from '../conversation-param.js';
import { ok, type PageList, valid } from '../envelope.js';
import { REST_DEVICE } from './conversations.js';

const draft = {
  content: z.string().max(5000).default(''),
  format: z.nativeEnum(MessageFormat).default(MessageFormat.Text),
  replyTo: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
  file: z
    .object({
      url: z.string(),
      size: z.number().int(),
      mime: z.string(),
      name: z.string().optional(),
    })
    .optional(),
  duration: z.number().int().optional(),
  card: z
    .object({ bizType: z.number().int(), bizId: z.string(), title: z.string().optional() })
    .optional(),
};

export interface MessageRoutesDeps {
  rooms: Rooms;
  sql?: Sql;
  projector?: Projector;
}

export function messageRoutes(deps: MessageRoutesDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  const send = async (
    identity: AuthEnv['Variables']['identity'],
    key: ConversationKey,
    body: z.infer<z.ZodObject<typeof draft>> | Draft,
  ) => {
    const room = await deps.rooms.open(key, identity);
    const { content, format, ...rest } = body;
    const message = composeMessage(
      { content, format, ...rest } as Draft,
      { identity: identity.id, identityType: identity.type },
      newMessageKey(),
      Date.now(),
    );
    const [stamp] = await room.submit(identity, [
      { root: 'messages', key: message.key, value: message },
    ]);
    return {
      conversationKey: key,
      messageKey: message.key,
      messageId: stamp!.id,
      seq: stamp!.seq,
      acceptedAt: stamp!.at,
    };
  };

  app.post(
    '/private',
    valid('json', z.object({ toIdentityId: z.string(), ...draft })),
    async (c) => {
      const body = c.req.valid('json');
      const key = privateKey(c.get('identity').id, asIdentityId(body.toIdentityId));
      const { toIdentityId: _, ...message } = body;
      return c.json(ok(await send(c.get('identity'), key, message)));
    },
  );

  app.post(
    '/group',
    valid('json', z.object({ conversationKey: z.string(), ...draft })),
    async (c) => {
      const { conversationKey, ...message } = c.req.valid('json');
      const parsed = tryParseKey(conversationKey);
      if (parsed?.type !== ConversationType.Group)
        throw new ConvosyncError('BAD_REQUEST', 'conversationKey: not a group key');
      return c.json(ok(await send(c.get('identity'), parsed.key, message)));
    },
  );

  app.get(
    '/conversation/:conversationId',
    valid(
      'query',
      z.object({
        pageNum: z.coerce.number().int().min(1).default(1),
        pageSize: z.coerce.number().int().min(1).max(100).default(20),
        before: z.coerce.number().int().min(1).optional(),
      }),
    ),
    async (c) => {
      // The spec's BIGINT conversationId, or the conversation key.
      const key = await conversationKeyOf(deps, c.req.param('conversationId'));
      refuseStranger(parseKey(key), c.get('identity'));
      const { pageNum, pageSize, before } = c.req.valid('query');
      const room = await deps.rooms.borrow(key);
      try {
        // Durable state only (between two steps of the room's queue).
        const all = await room.read((doc) => {
          // A group that was never created has no history (a private chat between its two
          // parties exists from its first use, so before that its history is just empty).
          if (parseKey(key).type === ConversationType.Group && !hasGenesis(doc))
            throw new ConvosyncError('CONVERSATION_NOT_FOUND');
          if (!canRead(doc, parseKey(key), c.get('identity')))
            throw new ConvosyncError('NOT_MEMBER');
          return listMessages(doc, c.get('identity').id);
        });
        // Newest first; `before` (a seq) pins the window, so pages stay stable while messages arrive.
        const accepted = all
          .filter((m) => m.stamp && (before === undefined || m.stamp.seq < before))
          .reverse();
        const start = before === undefined ? (pageNum - 1) * pageSize : 0;
        const list = accepted.slice(start, start + pageSize);
        const last = list[list.length - 1];
        const page: PageList<(typeof list)[number]> = {
          list,
          total: accepted.length,
          pageNum,
          pageSize,
          nextCursor: last && start + pageSize < accepted.length ? String(last.stamp!.seq) : null,
        };
        return c.json(ok(page));
      } finally {
        room.release();
      }
    },
  );

  /** Where a BIGINT message id lives: the snapshot tables, projected up to now first. */
  const locate = async (
    messageId: string,
  ): Promise<{ key: ConversationKey; messageKey: string; seq: number }> => {
    if (!isBigintId(messageId))
      throw new ConvosyncError('BAD_REQUEST', 'messageId: a BIGINT (1 to 9223372036854775807)');
    if (!deps.sql || !deps.projector)
      throw new ConvosyncError(
        'STORAGE_UNAVAILABLE',
        'message ids are looked up in the snapshot tables (SNAPSHOTS=off)',
      );
    await deps.projector.flush().catch(() => undefined);
    const [row] = await deps.sql<
      { conversation_key: string; client_message_key: string; conversation_seq: string }[]
    >`
      SELECT c.conversation_key, b.client_message_key, b.conversation_seq FROM t_msg_body b
      JOIN t_conversation c ON c.conversation_id = b.conversation_id::BIGINT WHERE b.message_id = ${messageId}`;
    if (!row) throw new ConvosyncError('NOT_FOUND', `no message ${messageId}`);
    return {
      key: parseKey(row.conversation_key).key,
      messageKey: row.client_message_key.trim(),
      seq: Number(row.conversation_seq),
    };
  };

  app.post(
    '/forward',
    valid(
      'json',
      z.object({
        messageIds: z.array(z.string().refine(isBigintId, 'a BIGINT message id')).min(1).max(50),
        toConversationKey: z.string(),
      }),
    ),
    async (c) => {
      const identity = c.get('identity');
      const { messageIds, toConversationKey } = c.req.valid('json');
      const target = parseKey(toConversationKey).key;
      const sent = [];
      for (const messageId of messageIds) {
        const { key, messageKey } = await locate(messageId);
        const source = await deps.rooms.borrow(key);
        let original: Message | undefined;
        try {
          if (!canRead(source.doc, parseKey(key), identity))
            throw new ConvosyncError('FORWARD_NOT_FOUND', `cannot read ${messageId}`);
          original = conversationRoots(source.doc).messages.get(messageKey);
        } finally {
          source.release();
        }
        if (!original || original.recalled)
          throw new ConvosyncError('FORWARD_NOT_FOUND', `${messageId} is gone`);
        // The room checks again that the source is readable, like for a forward over sync.
        sent.push(await send(identity, target, forwardDraft(original, key)));
      }
      return c.json(ok(sent));
    },
  );

  app.get('/:messageId', async (c) => {
    const identity = c.get('identity');
    const { key, messageKey } = await locate(c.req.param('messageId'));
    const room = await deps.rooms.borrow(key);
    try {
      const all = await room.read((doc) => {
        if (!canRead(doc, parseKey(key), identity)) throw new ConvosyncError('NOT_MEMBER');
        return listMessages(doc, identity.id);
      });
      const byKey = new Map(all.map((m) => [m.key as string, m]));
      const message = byKey.get(messageKey);
      if (!message) throw new ConvosyncError('NOT_FOUND', 'no such message');
      const replyTo = message.replyTo ? (byKey.get(message.replyTo) ?? null) : null;
      return c.json(ok({ conversationKey: key, message, replyTo }));
    } finally {
      room.release();
    }
  });

  app.put('/:messageId/recall', async (c) => {
    const identity = c.get('identity');
    const { key, messageKey } = await locate(c.req.param('messageId'));
    const room = await deps.rooms.open(key, identity);
    const current = conversationRoots(room.doc).messages.get(messageKey);
    if (!current) throw new ConvosyncError('NOT_FOUND', 'no such message');
    await room.submit(identity, [
      { root: 'messages', key: messageKey, value: tombstone(current, identity.id) },
    ]);
    return c.json(ok({ messageId: c.req.param('messageId'), recalled: true }));
  });

  app.put('/:messageId/read', async (c) => {
    const identity = c.get('identity');
    const { key, seq } = await locate(c.req.param('messageId'));
    const room = await deps.rooms.open(key, identity);
    const readsKey = readKey(identity.id, REST_DEVICE);
    const current = conversationRoots(room.doc).reads.get(readsKey) ?? 0;
    // Reading an older message than the position already reached changes nothing.
    if (seq > current) await room.submit(identity, [{ root: 'reads', key: readsKey, value: seq }]);
    return c.json(
      ok({ messageId: c.req.param('messageId'), readPosition: Math.max(seq, current) }),
    );
  });

  return app;
}
