/**
 * @module The Redis connection of cluster mode (`@redis/client`, node-redis core, the client
 * y/hub uses), and Lua scripts run by hash.
 *
 * Commands fail at once while the connection is down (`disableOfflineQueue`) instead of queueing:
 * every caller here has a better answer than waiting (a lease lapses and self-fences, a rate
 * limit falls back to a local bucket, presence reports what it has). Reconnection goes on in the
 * background. Redis on these machines keeps nothing on disk, so nothing here is the only copy of
 * anything durable.
 *
 * Binary payloads (relays, next step) need a `withTypeMapping({[RESP_TYPES.BLOB_STRING]: Buffer})`
 * view of the client, and a blocking XREAD a `duplicate()` connection of its own.
 */
import { createHash } from 'node:crypto';
import { createClient } from '@redis/client';
import { ConvosyncError } from '../../shared/errors.js';
import { redactUrl } from '../redact.js';

const create = (url: string) =>
  createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      // Quick retries, capped: a restarted Redis is back within a heartbeat or two.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 500),
    },
  });

export type Redis = ReturnType<typeof create>;

export interface RedisOptions {
  /** Told about connection errors (they repeat while Redis is away; the client reconnects). */
  onError?: (error: Error) => void;
  /**
   * How long the first connection may take (default 5 s). node-redis would retry forever; a
   * node that cannot reach Redis at start-up says so instead of hanging.
   */
  firstConnectMs?: number;
}

export async function connectRedis(url: string, options: RedisOptions = {}): Promise<Redis> {
  const client = create(url);
  // Without a listener an 'error' event would crash the process.
  client.on('error', (error: Error) => options.onError?.(error));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConvosyncError(
            'STORAGE_UNAVAILABLE',
            `Redis is not reachable at ${redactUrl(url, 'redis')}`,
          ),
        ),
      options.firstConnectMs ?? 5000,
    );
  });
  try {
    await Promise.race([client.connect(), late]);
  } catch (error) {
    client.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** A Lua script, run by its SHA-1 and loaded again when Redis lost it (a restart). */
export interface Script {
  run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown>;
}

export function script(source: string): Script {
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    async run(redis, keys, args) {
      const options = { keys, arguments: args.map(String) };
      try {
        return await redis.evalSha(sha, options);
      } catch (error) {
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
        return redis.eval(source, options);
      }
    },
  };
}
