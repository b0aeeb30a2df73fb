/**
 * @module Which nodes are gone. Every node adds its id to one Redis set and, every tick, reads
 * the set and its members' heartbeats (lease.ts). A node that was alive at this node's last
 * tick and whose heartbeat is gone now (killed, paused past its lease) is reported, once, to
 * `onGone`; its id leaves the set (whichever node sees it first removes it, and the others
 * still report it: it was alive in their last tick and is not in this one). A node that drained
 * (lease.ts marks it first) is not reported: its passes ran before it went. A node that starts
 * and dies between two ticks of this one is not seen at all.
 *
 * Why: a conversation's owner runs its inbox pass after each append and tells the other nodes
 * (inbox-notices.ts). An owner that dies between an append and that pass tells nobody, and the
 * inboxes open elsewhere would show the conversation as it was before until it loads again
 * somewhere. On a node's death every other node resyncs its open inboxes from the log.
 */
import type { Logger } from '../log.js';
import { drainedKey, heartbeatKey } from './lease.js';
import type { Redis } from './redis.js';

export const LIVE_NODES = 'cs:nodes:live';

export interface NodeDeathsOptions {
  redis: Redis;
  /** This node's id (its heartbeat's): added to the set, never reported. */
  self: string;
  onGone(node: string): void;
  log: Logger;
  /** How often the set is read (default 1 s, the heartbeat's renew interval). */
  intervalMs?: number;
}

export interface NodeDeaths {
  /** Reads the set now (tests; the timer does it every `intervalMs`). */
  tick(): Promise<void>;
  close(): void;
}

export function watchNodeDeaths(options: NodeDeathsOptions): NodeDeaths {
  const { redis, self, log } = options;
  let alive = new Set<string>();
  let running: Promise<void> | undefined;
  let closed = false;

  const read = async () => {
    // Again every tick: a FLUSHALL (or a Redis restart) wiped the set.
    await redis.sAdd(LIVE_NODES, self);
    const others = (await redis.sMembers(LIVE_NODES)).filter((node) => node !== self);
    const beats = others.length > 0 ? await redis.mGet(others.map(heartbeatKey)) : [];
    const now = new Set(others.filter((_, i) => beats[i] !== null));
    const stale = others.filter((node) => !now.has(node));
    if (stale.length > 0) await redis.sRem(LIVE_NODES, stale);
    if (closed) return;
    const gone = [...alive].filter((node) => !now.has(node));
    alive = now;
    if (gone.length === 0) return;
    // A drained node finished its passes and said so: nothing of it is missing anywhere.
    // (Unknown when Redis fails just now: then each counts as a death, a resync too many.)
    const drained = await redis
      .mGet(gone.map(drainedKey))
      .catch(() => gone.map((): string | null => null));
    gone.forEach((node, i) => {
      if (drained[i] !== null || closed) return;
      log.info('node gone', { node });
      options.onGone(node);
    });
  };

  // One read at a time; a failed one (Redis away) is logged by the client and tried next tick.
  const tick = () => {
    running ??= read()
      .catch((error: unknown) => log.debug('node watch failed', { error }))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void tick(), options.intervalMs ?? 1000);
  timer.unref();
  void tick();
  return {
    tick,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
