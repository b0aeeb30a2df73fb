/**
 * @module Hono middleware that authenticates before anything else runs (and, for /sync, before
 * the WebSocket upgrade, so a bad token gets a plain 401 response).
 *
 * Browsers cannot set headers on a WebSocket, so the token may come as `?token=`; REST clients
 * send `Authorization: Bearer`.
 */
import type { MiddlewareHandler } from 'hono';
import { PlatformRole } from '../../shared/enums.js';
import { ConvosyncError } from '../../shared/errors.js';
import { type Identity, verifyClaims } from './identity.js';

export type AuthEnv = {
  Variables: { identity: Identity /** The token's `exp` in ms, if any. */; expiresAt?: number };
};

export function authenticate(secret: string): MiddlewareHandler<AuthEnv> {
  if (!secret) throw new Error('authenticate() needs a secret');
  return async function authenticateRequest(c, next) {
    const header = c.req.header('authorization');
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : c.req.query('token');
    if (!token)
      throw new ConvosyncError('UNAUTHORIZED', 'missing token (Authorization: Bearer or ?token=)');
    const { identity, expiresAt } = await verifyClaims(token, secret);
    c.set('identity', identity);
    if (expiresAt !== undefined) c.set('expiresAt', expiresAt);
    await next();
  };
}

/** Routes for backend jobs only (events, notices): a token with `role: "service"`. */
export const serviceOnly: MiddlewareHandler<AuthEnv> = async (c, next) => {
  if (c.get('identity').role !== PlatformRole.Service)
    throw new ConvosyncError('FORBIDDEN_SERVICE_ONLY');
  await next();
};

/** Routes for platform staff: an `admin` token (customer service) or a `service` token (jobs). */
export const staffOnly: MiddlewareHandler<AuthEnv> = async (c, next) => {
  const role = c.get('identity').role;
  if (role !== PlatformRole.Admin && role !== PlatformRole.Service)
    throw new ConvosyncError('FORBIDDEN_STAFF_ONLY');
  await next();
};
