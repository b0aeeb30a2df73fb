/**
 * @module Cluster nodes as child processes (`npm start`'s entry point) sharing one Postgres
 * schema and one Redis logical database, for the multi-node tests: they can be killed with
 * SIGKILL and restarted like real nodes.
 */
import type { ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import type { Client, ClientOptions } from '../../client/index.js';
import { freePort, startChild } from '../child-server.js';
import { DATABASE_URL, redisUrlOn } from '../cluster-env.js';
import { sdkClient, tempDir } from '../helpers.js';

export interface ClusterNodeProcess {
  readonly name: string;
  readonly nodeId: number;
  readonly port: number;
  readonly url: string;
  child: ChildProcess;
  /** Log lines the node printed (JSON), for diagnosis. */
  readonly output: string[];
}

export interface TestCluster {
  readonly schema: string;
  readonly redisUrl: string;
  readonly sql: postgres.Sql;
  start(name: string, nodeId: number, port?: number): Promise<ClusterNodeProcess>;
  /** Every node process started, for cleanup. */
  readonly nodes: ClusterNodeProcess[];
  close(): Promise<void>;
}

/** A cluster on its own schema (dropped by `close`) and Redis database `redisDb` (flushed). */
export async function testCluster(redisDb: number, env: Record<string, string> = {}) {
  const schema = `cl_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
  const sql = postgres(DATABASE_URL!, { onnotice: () => {}, max: 2 });
  await sql.unsafe(`CREATE SCHEMA ${schema}`);
  const redisUrl = redisUrlOn(redisDb);
  const { connectRedis } = await import('../../server/cluster/redis.js');
  const redis = await connectRedis(redisUrl);
  await redis.flushDb();
  await redis.close();
  const nodes: ClusterNodeProcess[] = [];
  const cluster: TestCluster = {
    schema,
    redisUrl,
    sql,
    nodes,
    async start(name, nodeId, port) {
      const at = port ?? (await freePort());
      const child = await startChild(await tempDir(`cluster-${name}-`), at, {
        DATABASE_URL: DATABASE_URL!,
        DATABASE_SCHEMA: schema,
        DATABASE_POOL_MAX: '4',
        REDIS_URL: redisUrl,
        NODE_ID: String(nodeId),
        // Not below info: startChild waits for the "convosync listening" line.
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
        RATE_LIMIT_CONVERSATION: 'off',
        ...env,
      });
      const output: string[] = [];
      const keep = (chunk: Buffer) => {
        if (process.env.CLUSTER_DEBUG) process.stderr.write(`[${name}] ${chunk}`);
        output.push(chunk.toString());
        if (output.length > 400) output.shift();
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const node = { name, nodeId, port: at, url: `http://127.0.0.1:${at}`, child, output };
      nodes.push(node);
      return node;
    },
    async close() {
      for (const node of nodes) node.child.kill('SIGKILL');
      await sql.unsafe(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await sql.end();
    },
  };
  return cluster;
}

/**
 * A cluster for one describe block (its nodes get `env` too): started before its tests, closed
 * after them with every SDK client it made (with CLUSTER_DEBUG, each node's last output is
 * printed first).
 */
export function useTestCluster(
  redisDb: number,
  clientOptions: Partial<ClientOptions> = {},
  env: Record<string, string> = {},
) {
  let cluster: TestCluster | undefined;
  const clients: Client[] = [];
  beforeAll(async () => {
    cluster = await testCluster(redisDb, env);
  }, 60_000);
  afterAll(async () => {
    if (process.env.CLUSTER_DEBUG)
      for (const n of cluster?.nodes ?? []) console.log(n.name, n.output.join('').slice(-6000));
    for (const c of clients) await c.close().catch(() => undefined);
    await cluster?.close();
  });
  return {
    get cluster(): TestCluster {
      if (!cluster) throw new Error('the cluster is not started yet');
      return cluster;
    },
    async client(url: string, who: string): Promise<Client> {
      const c = await sdkClient(url, who, clientOptions);
      clients.push(c);
      return c;
    },
  };
}
