/**
 * @module REST message search: `GET /search/messages?q=…` over the caller's readable
 * conversations, from the snapshot tables (so it needs SNAPSHOTS=on).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { MessageFormat } from '../../../shared/enums.js';
import { ConvosyncError } from '../../../shared/errors.js';
import { IDENTITY_ID_PATTERN } from '../../../shared/ids.js';
import { tryParseKey } from '../../../shared/keys.js';
import { SEARCH_QUERY_MAX_LENGTH } from '../../../shared/search.js';
import type { AuthEnv } from '../../auth/middleware.js';
import type { Sql } from '../../db/connect.js';
import type { Projector } from '../../projector/projector.js';
import { searchMessages } from '../../search/message-search.js';
import { ok, valid } from '../envelope.js';

/**
 * How long a search waits for the projector to write what is still pending (read your own
 * writes). Bounded: under a write burst a search answers from slightly older tables rather
 * than wait for the whole backlog.
 */
const FLUSH_WAIT_MS = 2_000;

export const searchMessagesQuery = z.object({
  q: z
    .string()
    .trim()
    .min(1, 'empty')
    .max(SEARCH_QUERY_MAX_LENGTH, `at most ${SEARCH_QUERY_MAX_LENGTH} characters`)
    .refine((q) => !q.includes('\0'), 'contains a NUL character'),
  conversationKey: z
    .string()
    .refine((key) => tryParseKey(key) !== undefined, 'not a conversation key')
    .optional(),
  sender: z.string().regex(IDENTITY_ID_PATTERN, 'an identity id').optional(),
  format: z.coerce.number().pipe(z.nativeEnum(MessageFormat)).optional(),
  pageNum: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
  before: z
    .string()
    .regex(/^[1-9][0-9]{0,18}$/, 'a message id')
    .optional(),
});

export function searchRoutes(deps: { sql?: Sql; projector?: Projector }): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.get('/messages', valid('query', searchMessagesQuery), async (c) => {
    const { sql, projector } = deps;
    if (!sql || !projector)
      throw new ConvosyncError(
        'STORAGE_UNAVAILABLE',
        'message search reads the snapshot tables (SNAPSHOTS=off)',
      );
    await projector.flush(FLUSH_WAIT_MS).catch(() => undefined);
    const query = c.req.valid('query');
    const page = await searchMessages(sql, {
      identityId: c.get('identity').id,
      q: query.q,
      pageNum: query.pageNum,
      pageSize: query.pageSize,
      ...(query.conversationKey !== undefined ? { conversationKey: query.conversationKey } : {}),
      ...(query.sender !== undefined ? { sender: query.sender } : {}),
      ...(query.format !== undefined ? { format: query.format } : {}),
      ...(query.before !== undefined ? { before: query.before } : {}),
    });
    return c.json(ok(page));
  });

  return app;
}
