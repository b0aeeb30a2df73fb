/**
 * @module One blocking XREAD loop on a Redis stream, on a connection of its own (a blocked
 * connection can send nothing else), with binary replies (`withTypeMapping`: without it the
 * entries' bytes would come back as strings). Each entry's field `m` goes to `onEntry`, in order.
 */
import { RESP_TYPES } from '@redis/client';
import type { Redis } from './redis.js';

export interface StreamReaderOptions {
  redis: Redis;
  stream: string;
  onEntry: (bytes: Uint8Array) => void;
  onError: (error: unknown) => void;
  /** How long one XREAD blocks (it is how long `stop` may wait). */
  blockMs?: number;
}

export interface StreamReader {
  stop(): Promise<void>;
}

type Reply = Array<{ messages: Array<{ id: Buffer; message: { m?: Buffer } }> }> | null;

export async function startStreamReader(options: StreamReaderOptions): Promise<StreamReader> {
  const reader = options.redis.duplicate().withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  reader.on('error', () => {}); // reported by the main connection; this one reconnects too
  await reader.connect();
  let stopped = false;
  // An explicit id from the start, never '$': entries may have been added before the first read.
  let last = '0-0';
  const loop = (async () => {
    while (!stopped) {
      try {
        const reply = (await reader.xRead(
          { key: options.stream, id: last },
          { BLOCK: options.blockMs ?? 1000, COUNT: 500 },
        )) as Reply;
        for (const stream of reply ?? [])
          for (const { id, message } of stream.messages) {
            last = id.toString();
            if (message.m) options.onEntry(message.m);
          }
      } catch (error) {
        if (stopped) break;
        options.onError(error);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      reader.destroy();
    },
  };
}
