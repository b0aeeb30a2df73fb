/**
 * @module The Redis connection of cluster mode (`@redis/client`, node-redis core, the client
 * y/hub uses), and its Lua scripts (run with EVAL, in the order sent: `script`).
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

/**
 * A Lua script, sent whole with EVAL on every run. Not EVALSHA with an EVAL retry on NOSCRIPT
 * (after a Redis restart): that retry is a second round trip, so a command sent after the
 * script could run before it. A lease VERIFY retried after the RELEASE that followed it took the
 * released room back, and a presence change could land after a later one. EVAL keeps the order
 * commands were sent in; Redis caches the compiled script by its hash, so each run costs only
 * the few hundred bytes of source on the wire.
 */
export interface Script {
  run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown>;
}

export function script(source: string): Script {
  return {
    run: (redis, keys, args) => redis.eval(source, { keys, arguments: args.map(String) }),
  };
}
