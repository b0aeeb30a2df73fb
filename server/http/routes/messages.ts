/**
 * @module REST for messages (seed section 13): send private and group messages, recall, mark
 * read, history. Every write goes through the same rules as the sync path and is applied as a
 * server transaction of the conversation's room, so connected clients see it at once.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { hasGenesis, listMessages, type MessageView } from '../../../shared/conversation.js';
import { ConversationType, MessageFormat, PlatformRole } from '../../../shared/enums.js';
import { ConvosyncError } from '../../../shared/errors.js';
import {
  asIdentityId,
  isBigintId,
  isMessageKey,
  type MessageKey,
  newMessageKey,
} from '../../../shared/ids.js';
import { assistantKey, type ConversationKey, parseKey, privateKey } from '../../../shared/keys.js';
import { composeMessage, type Draft, forwardDraft } from '../../../shared/message.js';
import { canRead } from '../../../shared/rules/access.js';
import { tombstone } from '../../../shared/rules/message.js';
import { conversationRoots, type Message, readKey, type Stamp } from '../../../shared/schema.js';
import type { AuthEnv } from '../../auth/middleware.js';
import type { Sql } from '../../db/connect.js';
import type { Projector } from '../../projector/projector.js';
import type { ServerRooms } from '../../sync/rooms.js';
import { conversationKeyOf, refuseStranger } from '../conversation-param.js';
import { ok, type PageList, pageQuery, returnsBoolean, valid } from '../envelope.js';
import { pageImMessages } from '../im-messages.js';
import { type MessageResponseVO, messageVO } from '../message-vo.js';
import { identityId, REST_DEVICE } from './conversations.js';

/** A BIGINT id in JSON: a decimal string, or a number when it is small enough to be exact. */
const bigintId = z.union([
  z.string().refine(isBigintId, 'a BIGINT id'),
  z
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .transform((n) => String(n)),
]);

/**
 * The message fields of SendPrivateMessageRequestVO / SendGroupMessageRequestVO (seed §10, §4
 * Message): `content`, `messageFormat`, `replyToMessageId` (a message id), `fileUrl`,
 * `fileSize`, `duration`; convosync adds `fileMime` and `fileName` (uploads check the type) and
 * `card` (the business object of a card message). Unknown fields are refused (.strict()).
 */
const messageFields = {
  /**
   * The sender's own key for the message (32 lowercase hex, as the SDK makes them): a send
   * retried with the same key and content answers the first send's message instead of a second.
   */
  clientMessageKey: z
    .string()
    .refine(isMessageKey, 'clientMessageKey: 32 lowercase hex characters')
    .optional(),
  content: z.string().max(5000).default(''),
  messageFormat: z.nativeEnum(MessageFormat).default(MessageFormat.Text),
  replyToMessageId: bigintId.nullable().optional(),
  fileUrl: z.string().max(500).optional(),
  fileSize: z.number().int().min(0).optional(),
  duration: z.number().int().optional(),
  fileMime: z.string().max(100).optional(),
  fileName: z.string().max(255).optional(),
  card: z
    .object({
      bizType: z.number().int(),
      bizId: z.string().max(64),
      title: z.string().max(255).optional(),
    })
    .strict()
    .optional(),
};
type MessageFields = z.infer<z.ZodObject<typeof messageFields>>;

type Accepted = MessageView & { stamp: Stamp };

export interface MessageRoutesDeps {
  rooms: ServerRooms;
  sql?: Sql;
  projector?: Projector;
}

export function messageRoutes(deps: MessageRoutesDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  /** Sends `draft` to `key` as `identity`; answers the spec's MessageResponseVO. */
  const send = async (
    identity: AuthEnv['Variables']['identity'],
    key: ConversationKey,
    draft: Draft,
    clientMessageKey?: string,
  ): Promise<MessageResponseVO> => {
    const message = composeMessage(
      draft,
      { identity: identity.id, identityType: identity.type },
      (clientMessageKey as MessageKey | undefined) ?? newMessageKey(),
      Date.now(),
    );
    return deps.rooms.use(key, identity, async (room) => {
      const [stamp] = await room.submit(identity, [
        { root: 'messages', key: message.key, value: message },
      ]);
      // A retry answers the message as first sent (its own send time).
      const sent = conversationRoots(room.doc).messages.get(message.key) ?? message;
      return messageVO(room.doc, { ...sent, stamp: stamp!, pending: false });
    });
  };

  /** The draft the spec's fields describe, in conversation `key` (a reply stays in it). */
  const draftOf = async (key: ConversationKey, body: MessageFields): Promise<Draft> => {
    const draft: Draft = { content: body.content, format: body.messageFormat };
    if (body.replyToMessageId) {
      const target = await locate(body.replyToMessageId).catch(() => undefined);
      if (!target || target.key !== key)
        throw new ConvosyncError(
          'REPLY_NOT_FOUND',
          `replyToMessageId: no message ${body.replyToMessageId} in this conversation`,
        );
      draft.replyTo = target.messageKey as MessageKey;
    }
    if (body.fileUrl !== undefined)
      draft.file = {
        url: body.fileUrl,
        size: body.fileSize ?? 0,
        mime: body.fileMime ?? '',
        ...(body.fileName === undefined ? {} : { name: body.fileName }),
      };
    if (body.duration !== undefined) draft.duration = body.duration;
    if (body.card) draft.card = body.card;
    return draft;
  };

  app.post(
    '/private',
    valid('json', z.object({ receiverId: identityId, ...messageFields }).strict()),
    async (c) => {
      const { receiverId, ...body } = c.req.valid('json');
      const key = privateKey(c.get('identity').id, asIdentityId(receiverId));
      return c.json(
        ok(await send(c.get('identity'), key, await draftOf(key, body), body.clientMessageKey)),
      );
    },
  );

  app.post(
    '/group',
    valid(
      'json',
      z
        .object({
          conversationId: bigintId.optional(),
          /** Addition: the group by its key instead of its id. */
          conversationKey: z.string().max(120).optional(),
          ...messageFields,
        })
        .strict()
        .refine((b) => (b.conversationId === undefined) !== (b.conversationKey === undefined), {
          message: 'exactly one of conversationId and conversationKey',
          path: ['conversationId'],
        }),
    ),
    async (c) => {
      const { conversationId, conversationKey, ...body } = c.req.valid('json');
      const key = await conversationKeyOf(deps, (conversationId ?? conversationKey)!);
      if (parseKey(key).type !== ConversationType.Group)
        throw new ConvosyncError('BAD_REQUEST', 'conversationId: not a group');
      return c.json(
        ok(await send(c.get('identity'), key, await draftOf(key, body), body.clientMessageKey)),
      );
    },
  );

  app.get(
    '/conversation/:conversationId',
    valid(
      'query',
      z.object({
        ...pageQuery,
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
        const list = accepted
          .slice(start, start + pageSize)
          .map((m) => messageVO(room.doc, m as Accepted));
        const last = list[list.length - 1];
        const page: PageList<MessageResponseVO> = {
          list,
          total: accepted.length,
          pageNum,
          pageSize,
          nextCursor: last && start + pageSize < accepted.length ? String(last.seq) : null,
        };
        return c.json(ok(page));
      } finally {
        room.release();
      }
    },
  );

  /**
   * Customer service (`assistant_{customerId}`): the customer writes to its own conversation; a
   * platform admin answers a customer by `customerId` (the first answer makes the admin a member).
   */
  app.post(
    '/assistant',
    valid('json', z.object({ customerId: identityId.optional(), ...messageFields }).strict()),
    async (c) => {
      const identity = c.get('identity');
      const { customerId, ...body } = c.req.valid('json');
      const customer = customerId === undefined ? identity.id : asIdentityId(customerId);
      if (customer !== identity.id && identity.role !== PlatformRole.Admin)
        throw new ConvosyncError('POST_FORBIDDEN', 'only platform admins answer other customers');
      const key = assistantKey(customer);
      return c.json(ok(await send(identity, key, await draftOf(key, body))));
    },
  );

  // pageIMMessages: the caller's IM messages across its conversations, newest first.
  app.get(
    '/im',
    valid(
      'query',
      z.object({
        ...pageQuery,
        conversationId: z.string().refine(isBigintId, 'a BIGINT id').optional(),
        messageFormat: z.coerce.number().pipe(z.nativeEnum(MessageFormat)).optional(),
      }),
    ),
    async (c) => {
      if (!deps.sql || !deps.projector)
        throw new ConvosyncError(
          'STORAGE_UNAVAILABLE',
          'IM message lists need the snapshot tables',
        );
      await deps.projector.flush().catch(() => undefined);
      return c.json(ok(await pageImMessages(deps.sql, c.get('identity').id, c.req.valid('query'))));
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
    const { sql } = deps;
    const row = await deps.projector.lookup(
      async () =>
        (
          await sql<
            { conversation_key: string; client_message_key: string; conversation_seq: string }[]
          >`
      SELECT c.conversation_key, b.client_message_key, b.conversation_seq FROM t_msg_body b
      JOIN t_conversation c ON c.conversation_id = b.conversation_id::BIGINT WHERE b.message_id = ${messageId}`
        )[0],
      messageId,
    );
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
      z
        .object({
          messageIds: z.array(bigintId).min(1).max(50),
          toConversationKey: z.string(),
        })
        .strict(),
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
      if (!message?.stamp) throw new ConvosyncError('NOT_FOUND', 'no such message');
      const replied = message.replyTo ? byKey.get(message.replyTo) : undefined;
      // MessageDetailDTO: the message, and the one it replies to (the spec's "回复信息").
      return c.json(
        ok({
          ...messageVO(room.doc, message as Accepted),
          replyTo: replied?.stamp ? messageVO(room.doc, replied as Accepted) : null,
        }),
      );
    } finally {
      room.release();
    }
  });

  app.put('/:messageId/recall', returnsBoolean, async (c) => {
    const identity = c.get('identity');
    const { key, messageKey } = await locate(c.req.param('messageId'));
    await deps.rooms.use(key, identity, async (room) => {
      const current = conversationRoots(room.doc).messages.get(messageKey);
      if (!current) throw new ConvosyncError('NOT_FOUND', 'no such message');
      await room.submit(identity, [
        { root: 'messages', key: messageKey, value: tombstone(current, identity.id) },
      ]);
    });
    return c.json(ok(true)); // Response<Boolean>
  });

  /** Moves the caller's REST read (or delivered) position up to the message `messageId`. */
  const advance = async (
    identity: AuthEnv['Variables']['identity'],
    messageId: string,
    root: 'reads' | 'delivered',
  ) => {
    const { key, seq } = await locate(messageId);
    await deps.rooms.use(key, identity, async (room) => {
      const positionKey = readKey(identity.id, REST_DEVICE);
      const current = conversationRoots(room.doc)[root].get(positionKey) ?? 0;
      // An older message than the position already reached changes nothing.
      if (seq > current) await room.submit(identity, [{ root, key: positionKey, value: seq }]);
    });
  };

  app.put('/:messageId/read', returnsBoolean, async (c) => {
    await advance(c.get('identity'), c.req.param('messageId'), 'reads');
    return c.json(ok(true)); // Response<Boolean>
  });

  /**
   * updateMessageStatus(messageId, status): 1 delivered, 2 read, for the caller (its REST
   * device's positions; delivered receipts are what private chats show as "delivered").
   */
  app.put(
    '/:messageId/status',
    returnsBoolean,
    valid('json', z.object({ status: z.union([z.literal(1), z.literal(2)]) }).strict()),
    async (c) => {
      const root = c.req.valid('json').status === 1 ? 'delivered' : 'reads';
      await advance(c.get('identity'), c.req.param('messageId'), root);
      return c.json(ok(true));
    },
  );

  return app;
}
