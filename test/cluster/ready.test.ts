/**
 * Readiness in cluster mode: a room appends through its own view of the Postgres log, and a
 * failing append must turn /ready red (a load balancer then sends traffic elsewhere) and green
 * again once appends succeed, as a failing LevelDB write does on a single node.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../server/cluster/redis.js';
import { parseKey } from '../../shared/keys.js';
import { DATABASE_URL, hasEnv, needs, redisUrlOn } from '../cluster-env.js';
import { startTestServer, type TestServer, waitFor } from '../helpers.js';
import { restApi } from '../rest.js';

const REDIS_DB = 11;

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `readiness on a cluster node${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    const schema = `cl_ready_${randomUUID().slice(0, 8)}`;
    let sql: postgres.Sql;
    let node: TestServer;
    const api = restApi(() => node);
    beforeAll(async () => {
      sql = postgres(DATABASE_URL!, { onnotice: () => {}, max: 2 });
      await sql.unsafe(`CREATE SCHEMA ${schema}`);
      const redis = await connectRedis(redisUrlOn(REDIS_DB));
      await redis.flushDb();
      await redis.close();
      node = await startTestServer({
        env: {
          DATABASE_URL: DATABASE_URL!,
          DATABASE_SCHEMA: schema,
          REDIS_URL: redisUrlOn(REDIS_DB),
          NODE_ID: '1',
          STORAGE_PROBE_MS: '100',
        },
      });
    }, 60_000);
    afterAll(async () => {
      await node?.close();
      await sql?.unsafe(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await sql?.end();
    });

    const ready = async () => {
      const response = await fetch(`${node.httpUrl}/ready`);
      const body = (await response.json()) as { data: { storage: string } };
      return { status: response.status, storage: body.data.storage };
    };

    it('goes unready while a room cannot append to the log, and ready again after', async () => {
      const group = await api.data('POST', '/conversations/group', 'alice', {
        name: 'appends fail',
        members: [{ identityId: 'bob', identityType: 1 }],
      });
      const key = parseKey(group.conversationKey as string).key;
      expect(await ready()).toEqual({ status: 200, storage: 'open' });

      // The database refuses new log rows (not a fenced position: a real failure).
      await sql.unsafe(`
        CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON ${schema}.doc_log
          FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse();`);
      const refused = await api.call('POST', '/messages/group', 'alice', {
        conversationKey: key,
        content: 'not now',
      });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('STORAGE_UNAVAILABLE');
      expect(await ready()).toMatchObject({ status: 503, storage: 'failing' });

      await sql.unsafe(`DROP TRIGGER refuse ON ${schema}.doc_log`);
      await waitFor(async () => (await ready()).status === 200, 5000, 'ready again');
      const sent = await api.data('POST', '/messages/group', 'alice', {
        conversationKey: key,
        content: 'now it lands',
      });
      expect(sent.content).toBe('now it lands');
    }, 30_000);
  },
);
