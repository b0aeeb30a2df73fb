/**
 * @module Reads the identity out of a JWT without verifying it (the server verifies; the SDK
 * only needs to know who it writes as, to fill `sender` and run the rules locally).
 */
import { PlatformRole } from '../shared/enums.js';
import { ConvosyncError } from '../shared/errors.js';
import { type IdentityId, isIdentityId } from '../shared/ids.js';

export interface TokenIdentity {
  id: IdentityId;
  type: number;
  role?: PlatformRole;
}

type Claims = { sub?: unknown; identityType?: unknown; role?: unknown; exp?: unknown };

function claimsOf(token: string): Claims {
  const payload = token.split('.')[1];
  if (!payload) throw new ConvosyncError('UNAUTHORIZED', 'token is not a JWT');
  try {
    const base64 = payload.replaceAll('-', '+').replaceAll('_', '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    return JSON.parse(json) as Claims;
  } catch (cause) {
    throw new ConvosyncError('UNAUTHORIZED', 'token payload is not JSON', { cause });
  }
}

/** When the token expires (ms since the epoch), or undefined when it has no `exp`. */
export function tokenExpiry(token: string): number | undefined {
  const { exp } = claimsOf(token);
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

export function identityFromToken(token: string): TokenIdentity {
  const claims = claimsOf(token);
  if (!isIdentityId(claims.sub))
    throw new ConvosyncError('UNAUTHORIZED', 'token subject is not an identity id');
  const type = claims.identityType ?? 0;
  if (typeof type !== 'number' || !Number.isInteger(type)) {
    throw new ConvosyncError('UNAUTHORIZED', 'identityType must be an integer');
  }
  const identity: TokenIdentity = { id: claims.sub, type };
  if (claims.role === PlatformRole.Admin || claims.role === PlatformRole.Service)
    identity.role = claims.role;
  return identity;
}
