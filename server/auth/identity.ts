/**
 * @module Who a connection or request is: the verified claims of its JWT.
 *
 * Token claims (HS256): `sub` identity id (required, identity-id alphabet), `identityType`
 * (integer, default 0), `role` ("admin" for platform customer service, "service" for backend
 * jobs; absent for end users), `exp` (optional; checked when present).
 */
import { sign, verify } from 'hono/jwt';
import { PlatformRole } from '../../shared/enums.js';
import { ConvosyncError } from '../../shared/errors.js';
import { isIdentityId } from '../../shared/ids.js';
import type { Author } from '../../shared/rules/access.js';
import { isInt32 } from '../../shared/rules/storable.js';

export { PlatformRole };

/** The authenticated author of a connection or request (see shared/rules/access.ts). */
export type Identity = Author;

/** Verifies a token and returns its identity, or throws UNAUTHORIZED (with the reason). */
export async function verifyToken(token: string, secret: string): Promise<Identity> {
  return (await verifyClaims(token, secret)).identity;
}

/**
 * Verifies a token: its identity, and when it expires (ms since the epoch; a socket opened with
 * it is closed then, see server/sync/socket.ts).
 */
export async function verifyClaims(
  token: string,
  secret: string,
): Promise<{ identity: Identity; expiresAt?: number }> {
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, secret, 'HS256');
  } catch (error) {
    throw new ConvosyncError('UNAUTHORIZED', `invalid token: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const { sub, identityType = 0, role, exp } = payload;
  if (!isIdentityId(sub))
    throw new ConvosyncError('UNAUTHORIZED', 'token subject is not a valid identity id');
  // It becomes an INT column (members, senders): a type the tables cannot hold is no identity.
  if (!isInt32(identityType))
    throw new ConvosyncError('UNAUTHORIZED', 'identityType must be a 32-bit integer');
  if (role !== undefined && role !== PlatformRole.Admin && role !== PlatformRole.Service) {
    throw new ConvosyncError('UNAUTHORIZED', 'unknown role claim');
  }
  const identity: Identity = { id: sub, type: identityType as number };
  if (role !== undefined) identity.role = role;
  return typeof exp === 'number' ? { identity, expiresAt: exp * 1000 } : { identity };
}

/** Mints a token (dev script and tests); `ttlSeconds` 0 means no expiry. */
export function signToken(
  identity: Identity,
  secret: string,
  ttlSeconds = 24 * 3600,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    {
      sub: identity.id,
      identityType: identity.type,
      ...(identity.role ? { role: identity.role } : {}),
      iat: now,
      ...(ttlSeconds > 0 ? { exp: now + ttlSeconds } : {}),
    },
    secret,
    'HS256',
  );
}
