/**
 * Readiness in cluster mode: a room appends through its own view of the Postgres log, and a
 * failing append must turn /ready red (a load balancer then sends traffic elsewhere) and green
 * again once appends succeed, as a failing LevelDB write does on a single node.
 */
import { describe, expect, it } from 'vitest';
import { parseKey } from '../../shared/keys.js';
import { hasEnv, needs } from '../cluster-env.js';
import { waitFor } from '../helpers.js';
import { restApi } from '../rest.js';
import { useInProcessCluster } from './in-process.js';

const REDIS_DB = 11;

describe.skipIf(!hasEnv('DATABASE_URL', 'REDIS_URL'))(
  `readiness on a cluster node${needs('DATABASE_URL', 'REDIS_URL')}`,
  () => {
    const cluster = useInProcessCluster({
      redisDb: REDIS_DB,
      nodes: [{ STORAGE_PROBE_MS: '100' }],
    });
    const node = () => cluster.nodes[0]!;
    const api = restApi(node);
    const { schema } = cluster;

    const ready = async () => {
      const response = await fetch(`${node().httpUrl}/ready`);
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
      await cluster.sql.unsafe(`
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

      await cluster.sql.unsafe(`DROP TRIGGER refuse ON ${schema}.doc_log`);
      await waitFor(async () => (await ready()).status === 200, 5000, 'ready again');
      const sent = await api.data('POST', '/messages/group', 'alice', {
        conversationKey: key,
        content: 'now it lands',
      });
      expect(sent.content).toBe('now it lands');
    }, 30_000);
  },
);
