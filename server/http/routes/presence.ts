/**
 * @module REST for cross-conversation presence: whether each of a list of identities has a
 * socket open anywhere, and when it was last seen. Any authenticated identity may ask (there is
 * no contact graph to check against); the list is capped so one request stays cheap.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { IDENTITY_ID_PATTERN, type IdentityId } from '../../../shared/ids.js';
import { MAX_PRESENCE_LOOKUP } from '../../../shared/presence.js';
import type { AuthEnv } from '../../auth/middleware.js';
import type { PresenceRegistry } from '../../presence.js';
import { ok, valid } from '../envelope.js';

export const presenceQuery = z.object({
  identities: z
    .string()
    .min(1)
    .transform((list) => [...new Set(list.split(','))])
    .pipe(
      z
        .array(z.string().regex(IDENTITY_ID_PATTERN, 'not an identity id'))
        .min(1)
        .max(MAX_PRESENCE_LOOKUP, `at most ${MAX_PRESENCE_LOOKUP} identities`),
    ),
});

export function presenceRoutes(deps: { presence: PresenceRegistry }): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.get('/', valid('query', presenceQuery), async (c) => {
    const { identities } = c.req.valid('query');
    const list = await deps.presence.lookup(identities as IdentityId[]);
    return c.json(ok({ list }));
  });
  return app;
}
