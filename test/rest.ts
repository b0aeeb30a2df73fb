/**
 * @module One REST caller for the e2e tests of /api/v1: `call` answers status and envelope,
 * `data` asserts a 200 and answers `data`. A caller is an identity, or an identity with a
 * platform role (`['agent', 'admin']`).
 */
import { expect } from 'vitest';
import type { PlatformRole } from '../server/auth/identity.js';
import { type TestServer, token } from './helpers.js';

export type Caller = string | readonly [string, PlatformRole];

export interface RestReply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the envelope's data differs per endpoint
  body: { code: string; message: string; data: any };
}

export function restApi(server: () => TestServer) {
  const call = async (
    method: string,
    path: string,
    who: Caller,
    body?: unknown,
  ): Promise<RestReply> => {
    const [id, role] = typeof who === 'string' ? [who, undefined] : who;
    const res = await fetch(`${server().httpUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await token(id, 1, role)}`,
        'content-type': 'application/json',
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as RestReply['body'] };
  };
  return {
    call,
    /** Creates a group of `owner` with `members` (identity type 1); its conversation key. */
    async group(owner: string, members: readonly string[], name = 'team'): Promise<string> {
      const res = await call('POST', '/conversations/group', owner, {
        name,
        members: members.map((identityId) => ({ identityId, identityType: 1 })),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.data.conversationKey;
    },
    // biome-ignore lint/suspicious/noExplicitAny: the envelope's data differs per endpoint
    async data(method: string, path: string, who: Caller, body?: unknown): Promise<any> {
      const reply = await call(method, path, who, body);
      expect(reply.status, `${method} ${path}: ${JSON.stringify(reply.body)}`).toBe(200);
      return reply.body.data;
    },
  };
}
