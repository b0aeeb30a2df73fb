/**
 * @module The people directory (t_identity): who has signed in on this server, with the nickname
 * and avatar of their latest profile. Fed by every accepted token (a socket or a REST call) and
 * by profile writes; read by the prefix search of GET /api/v1/people.
 *
 * A sign-in is written once per identity per `refreshMs` (an in-memory note of the last write),
 * so the hot paths cost a map lookup, not a database write; writes go out in the background and
 * a failure is only logged (the next sign-in writes again).
 */
import type { IdentityId } from '../../shared/ids.js';
import type { Profile } from '../../shared/schema.js';
import type { Sql } from '../db/connect.js';
import type { Logger } from '../log.js';

/** What a lookup reveals about a person: nothing about their conversations or activity. */
export interface Person {
  identity: IdentityId;
  identityType: number;
  nickname?: string;
  avatar?: string;
}

export const MAX_PEOPLE_RESULTS = 10;

export interface PeopleDirectory {
  /** `identity` presented a valid token. */
  seen(identity: { id: IdentityId; type: number }): void;
  /** `identity` wrote its profile (nickname, avatar) in some conversation. */
  profile(identity: IdentityId, profile: Profile): void;
  /** Identities whose id or nickname starts with `prefix` (case-insensitive), by id. */
  search(prefix: string, limit?: number): Promise<Person[]>;
  /** Waits for the writes in flight. */
  flush(): Promise<void>;
}

export function sqlPeopleDirectory(deps: {
  sql: Sql;
  log: Logger;
  now?: () => number;
  refreshMs?: number;
}): PeopleDirectory {
  const now = deps.now ?? Date.now;
  const refreshMs = deps.refreshMs ?? 3_600_000;
  const written = new Map<IdentityId, number>();
  const inFlight = new Set<Promise<unknown>>();
  const background = (what: string, work: Promise<unknown>) => {
    const tracked = work
      .catch((error) => deps.log.warn(`people directory: ${what} failed`, { error }))
      .finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  return {
    seen({ id, type }) {
      const at = now();
      const last = written.get(id);
      if (last !== undefined && at - last < refreshMs) return;
      written.set(id, at);
      // Bounded memory: the note is only a write filter, forgetting it costs one write.
      if (written.size > 100_000) written.delete(written.keys().next().value as IdentityId);
      background(
        'sign-in',
        deps.sql`INSERT INTO t_identity (identity_id, identity_type, first_seen_time, last_seen_time, update_time)
          VALUES (${id}, ${type}, ${at}, ${at}, ${at})
          ON CONFLICT (identity_id) DO UPDATE SET identity_type = EXCLUDED.identity_type,
            last_seen_time = EXCLUDED.last_seen_time, update_time = EXCLUDED.update_time`,
      );
    },
    profile(identity, profile) {
      if (profile.nickname === undefined && profile.avatar === undefined) return;
      const at = now();
      const nickname = profile.nickname?.slice(0, 100) ?? null;
      const avatar = profile.avatar?.slice(0, 255) ?? null;
      // Only someone who signed in is listed: a profile never creates a row.
      background(
        'profile',
        deps.sql`UPDATE t_identity SET
            nickname = COALESCE(${nickname}, nickname), avatar = COALESCE(${avatar}, avatar),
            update_time = ${at}
          WHERE identity_id = ${identity}`,
      );
    },
    async search(prefix, limit = MAX_PEOPLE_RESULTS) {
      const pattern = `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const rows = await deps.sql<
        {
          identity_id: string;
          identity_type: number;
          nickname: string | null;
          avatar: string | null;
        }[]
      >`SELECT identity_id, identity_type, nickname, avatar FROM t_identity
        WHERE lower(identity_id) LIKE ${pattern} OR lower(nickname) LIKE ${pattern}
        ORDER BY identity_id LIMIT ${Math.min(limit, MAX_PEOPLE_RESULTS)}`;
      return rows.map((row) => ({
        identity: row.identity_id as IdentityId,
        identityType: Number(row.identity_type),
        ...(row.nickname ? { nickname: row.nickname } : {}),
        ...(row.avatar ? { avatar: row.avatar } : {}),
      }));
    },
    async flush() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
