/**
 * @module REST people lookup: `GET /api/v1/people?prefix=al` lists up to 10 identities that have
 * signed in on this server and whose id or nickname starts with the prefix (case-insensitive).
 * Signed-in callers only (the /api/v1 token check), each limited to 30 lookups per 10 s. It
 * reveals id, identity type, nickname and avatar; never conversations, presence or when someone
 * was last seen (README "People").
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { rateLimited } from '../../../shared/retry.js';
import type { AuthEnv } from '../../auth/middleware.js';
import { RateLimiter } from '../../moderation/rate-limit.js';
import type { PeopleDirectory } from '../../people/directory.js';
import { ok, valid } from '../envelope.js';

export const peopleQuery = z.object({
  prefix: z.string().trim().min(1, 'at least one character').max(50, 'at most 50 characters'),
});

export function peopleRoutes(deps: { people: PeopleDirectory; now?: () => number }): Hono<AuthEnv> {
  const limiter = new RateLimiter(
    { identity: { count: 30, windowMs: 10_000 } },
    deps.now ?? Date.now,
  );
  const app = new Hono<AuthEnv>();
  app.get('/', valid('query', peopleQuery), async (c) => {
    const caller = c.get('identity');
    const admission = limiter.take(caller.id, '', 1);
    if (!admission.ok) throw rateLimited(admission.retryInMs, 'people lookup');
    const list = await deps.people.search(c.req.valid('query').prefix);
    return c.json(ok({ list }));
  });
  return app;
}
