/**
 * @module Cluster nodes in this process (real Postgres and Redis), for tests that reach into a
 * node (its lease, rooms, projector): one schema of their own, dropped after, and one Redis
 * logical database, flushed before. `useInProcessCluster` registers the hooks; read the nodes
 * inside the tests.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { connectRedis, type Redis } from '../../server/cluster/redis.js';
import type { ServerOverrides } from '../../server/server.js';
import { DATABASE_URL, redisUrlOn } from '../cluster-env.js';
import { startTestServer, type TestServer } from '../helpers.js';

export interface InProcessCluster {
  /** The nodes, in the order of `nodes` (NODE_ID 1, 2, ...). */
  readonly nodes: TestServer[];
  readonly schema: string;
  /** The nodes' Postgres, for the test's own queries (`${schema}.table`). */
  readonly sql: postgres.Sql;
  /** The nodes' Redis database. */
  readonly redis: Redis;
}

/**
 * Starts one node per entry of `nodes` (its extra environment) before the file's tests, and
 * closes them after. `env` goes to every node; `overrides` to every server (a test clock).
 */
export function useInProcessCluster(options: {
  redisDb: number;
  nodes: Array<Record<string, string>>;
  env?: Record<string, string>;
  overrides?: ServerOverrides;
}): InProcessCluster {
  const cluster = {
    nodes: [] as TestServer[],
    schema: `cl_${randomUUID().slice(0, 8)}`,
  } as InProcessCluster & { sql: postgres.Sql; redis: Redis };
  beforeAll(async () => {
    cluster.sql = postgres(DATABASE_URL!, { onnotice: () => {}, max: 2 });
    await cluster.sql.unsafe(`CREATE SCHEMA ${cluster.schema}`);
    cluster.redis = await connectRedis(redisUrlOn(options.redisDb));
    await cluster.redis.flushDb();
    for (const [i, extra] of options.nodes.entries())
      cluster.nodes.push(
        await startTestServer({
          env: {
            DATABASE_URL: DATABASE_URL!,
            DATABASE_SCHEMA: cluster.schema,
            REDIS_URL: redisUrlOn(options.redisDb),
            NODE_ID: String(i + 1),
            ...options.env,
            ...extra,
          },
          ...(options.overrides ? { overrides: options.overrides } : {}),
        }),
      );
  }, 60_000);
  afterAll(async () => {
    for (const node of cluster.nodes) await node.close();
    await cluster.redis?.close();
    await cluster.sql?.unsafe(`DROP SCHEMA ${cluster.schema} CASCADE`).catch(() => undefined);
    await cluster.sql?.end();
  });
  return cluster;
}
