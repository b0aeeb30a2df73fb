/**
 * @module The inbox across nodes (the InboxCluster of ../inbox/inboxes.ts). A conversation's
 * owner runs its inbox pass (its members' lists are written there and nowhere else), then
 * publishes a notice on one Redis pub/sub channel: the conversation's key and the identities
 * whose list changed. Every other node drops those identities' cached lists and, for the inboxes
 * open on it that list the key (or whose list changed), reads the conversation from its copy of
 * the fenced log (replicas.ts) and writes their entries. A notice is a hint: it carries no
 * entry, so a duplicate, late or reordered one only costs a read, and whatever a node reads is
 * the durable log caught up at that moment.
 *
 * Pub/sub is at-most-once; what is missed is repaired:
 * - a notice Redis did not take (the owner's connection down) is sent again every `retryMs`
 *   (1 s) until it is (merged per conversation, at most MAX_UNSENT conversations kept);
 * - a node whose subscription dropped (its connection to Redis broke, or Redis restarted) may
 *   have missed notices: when it is subscribed again (`ready`) every inbox open on it reads its
 *   list anew and every conversation listed gets a pass (resync);
 * - an owner that died between an append and its pass sent nothing: when any node's heartbeat
 *   goes (node-deaths.ts), every inbox open on the others resyncs the same way;
 * - an inbox that opens reads its list from Postgres and every entry from the logs.
 *
 * Pub/sub channels are not scoped by Redis's logical database, so the channel is named after it:
 * clusters sharing one Redis on different databases (the tests do) do not hear each other.
 */
import { isIdentityId } from '../../shared/ids.js';
import { type ConversationKey, tryParseKey } from '../../shared/keys.js';
import type { InboxCluster, InboxNotice } from '../inbox/inboxes.js';
import type { Logger } from '../log.js';
import type { NodeLease } from './lease.js';
import { watchNodeDeaths } from './node-deaths.js';
import type { Redis } from './redis.js';
import type { Replicas } from './replicas.js';

/** Conversations whose notice waits for Redis; more: the oldest is dropped (and logged). */
const MAX_UNSENT = 10_000;

export interface InboxNoticesOptions {
  redis: Redis;
  /** The URL `redis` connected to: its logical database names the channel. */
  redisUrl: string;
  lease: NodeLease;
  replicas: Replicas;
  log: Logger;
  retryMs?: number;
}

export interface InboxNotices extends Omit<InboxCluster, 'swapMeta'> {
  close(): Promise<void>;
}

interface Wire {
  n: string;
  k: string;
  c: string[];
}

export function inboxChannel(redisUrl: string): string {
  const db = Number(new URL(redisUrl).pathname.slice(1) || 0) || 0;
  return `cs:inbox:${db}`;
}

export async function startInboxNotices(options: InboxNoticesOptions): Promise<InboxNotices> {
  const { redis, lease, replicas, log } = options;
  const channel = inboxChannel(options.redisUrl);
  const retryMs = options.retryMs ?? 1000;
  const listeners: Array<Parameters<InboxCluster['listen']>[0]> = [];
  const unsent = new Map<ConversationKey, Set<string>>();
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  const send = (key: ConversationKey, changed: Iterable<string>): Promise<void> => {
    const wire: Wire = { n: lease.id, k: key, c: [...changed] };
    return redis.publish(channel, JSON.stringify(wire)).then(() => undefined);
  };

  const keep = (key: ConversationKey, changed: Iterable<string>) => {
    const merged = unsent.get(key) ?? new Set<string>();
    for (const id of changed) merged.add(id);
    unsent.delete(key);
    unsent.set(key, merged);
    if (unsent.size > MAX_UNSENT) {
      const oldest = unsent.keys().next().value!;
      unsent.delete(oldest);
      log.warn('inbox notice dropped (Redis away too long)', { conversation: oldest });
    }
    retry ??= setTimeout(resend, retryMs);
    retry.unref();
  };

  const resend = () => {
    retry = undefined;
    if (closed) return;
    const batch = [...unsent];
    unsent.clear();
    for (const [key, changed] of batch) send(key, changed).catch(() => keep(key, changed));
  };

  const received = (message: string) => {
    let wire: Wire;
    try {
      wire = JSON.parse(message) as Wire;
    } catch {
      return;
    }
    // Its own notices: the owner's pass has served the inboxes open on this node.
    if (wire.n === lease.id) return;
    const parsed = typeof wire.k === 'string' ? tryParseKey(wire.k) : undefined;
    if (!parsed || !Array.isArray(wire.c) || !wire.c.every(isIdentityId)) return;
    const notice: InboxNotice = { key: parsed.key, changed: wire.c };
    for (const listener of listeners) listener.notice(notice);
  };

  // Named, so an operator (and the tests) can tell it in CLIENT LIST.
  const subscriber = redis.duplicate({ name: `cs-inbox-${lease.id}` });
  subscriber.on('error', () => {}); // reported by the main connection; this one reconnects too
  let subscribed = false;
  subscriber.on('ready', () => {
    // Ready again after a break (resubscribed by the client): notices may have been missed.
    if (!subscribed || closed) return;
    log.info('inbox notices subscribed again; open inboxes resync');
    for (const listener of listeners) listener.resync();
  });
  await subscriber.connect();
  await subscriber.subscribe(channel, received);
  subscribed = true;
  const deaths = watchNodeDeaths({
    redis,
    self: lease.id,
    log,
    onGone: () => {
      for (const listener of listeners) listener.resync();
    },
  });

  return {
    owns: (key) => lease.owned().has(key),
    readCopy: (key, f) => replicas.read(key, f),
    publish({ key, changed }) {
      if (closed) return;
      // A notice waiting already: this one goes after it (merged), keeping their order.
      if (unsent.has(key)) keep(key, changed);
      else send(key, changed).catch(() => keep(key, changed));
    },
    listen(listener) {
      listeners.push(listener);
    },
    async close() {
      // Notices still unsent are dropped: other nodes' inboxes resync or reopen (module comment).
      closed = true;
      deaths.close();
      if (retry) clearTimeout(retry);
      await subscriber.unsubscribe(channel).catch(() => undefined);
      subscriber.destroy();
    },
  };
}
