/**
 * @module Development sign-in: mints a token for any identity, so the web app opens onto a
 * usable chat after `npm start`. Mounted only when the server runs with the built-in development
 * secret (no JWT_SECRET); with a production secret the route does not exist (404).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { PlatformRole } from '../../../shared/enums.js';
import { asIdentityId, isIdentityId } from '../../../shared/ids.js';
import { signToken } from '../../auth/identity.js';
import { ok, valid } from '../envelope.js';

const body = z.object({
  identity: z.string().refine(isIdentityId, 'an identity id: letters, digits, . and -, ≤ 50'),
  identityType: z.number().int().min(0).max(1000).default(1),
  role: z.enum([PlatformRole.Admin, PlatformRole.Service]).optional(),
});

export function devRoutes(secret: string): Hono {
  const app = new Hono();
  app.post('/token', valid('json', body), async (c) => {
    const { identity, identityType, role } = c.req.valid('json');
    const token = await signToken(
      { id: asIdentityId(identity), type: identityType, ...(role ? { role } : {}) },
      secret,
    );
    return c.json(ok({ token }));
  });
  return app;
}
