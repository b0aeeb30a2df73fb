/**
 * @module The inbox across nodes (the InboxCluster of ../inbox/inboxes.ts). A conversation's
 * owner runs its inbox pass (its members' lists are written there and nowhere else), then
 * publishes a notice on one Redis pub/sub channel: the conversation's key and the identities
 * whose list changed (the notices of a 50 ms window go out as one message). Every other node
 * drops those identities' cached lists and, for the inboxes open on it that list the key (or
 * whose list changed), reads the conversation from its copy of the fenced log (replicas.ts) and
 * writes their entries. A notice is a hint: it carries no
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
/** Longest a flush (a shutdown's) waits for the last notices to be sent. */
const CLOSE_WAIT_MS = 2000;
/** Conversations per message on the channel, at most. */
const BATCH_KEYS = 256;

export interface InboxNoticesOptions {
  redis: Redis;
  /** The URL `redis` connected to: its logical database names the channel. */
  redisUrl: string;
  lease: NodeLease;
  replicas: Replicas;
  log: Logger;
  retryMs?: number;
  /**
   * Notices asked for within this window go out as one message (default 50 ms, as long as the
   * inbox's own debounce): an owner's passes follow its messages, and one PUBLISH per pass was
   * about one per message, each a system call on the owner and a wake-up on every other node.
   */
  batchMs?: number;
}

export interface InboxNotices extends Omit<InboxCluster, 'swapMeta'> {
  close(): Promise<void>;
}

/** What one message on the channel holds: the sending node and its notices, [key, changed]. */
interface Wire {
  n: string;
  b: [string, string[]][];
}

/**
 * One notice per message, as nodes before batching sent them. Still read; but those nodes do not
 * read batches, so a cluster's nodes are upgraded past this change together (cluster mode's
 * messages carry no version yet).
 */
interface OldWire {
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
  const batchMs = options.batchMs ?? 50;
  /** Notices not sent yet, merged per conversation, in the order they were last asked for. */
  const unsent = new Map<ConversationKey, Set<string>>();
  let timer: NodeJS.Timeout | undefined;
  /** Whether the timer waits out a failed send (retryMs) rather than a batch window. */
  let retrying = false;
  let closed = false;
  let closing: Promise<void> | undefined;

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
  };

  const arm = (ms: number) => {
    if (timer || closed) return;
    timer = setTimeout(flush, ms);
    timer.unref();
  };

  /** PUBLISHes not answered yet (flushNow waits for them). */
  const sending = new Set<Promise<void>>();

  /** Sends every waiting notice, up to BATCH_KEYS conversations per message. */
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    retrying = false;
    if (closed || unsent.size === 0) return;
    const batch = [...unsent];
    unsent.clear();
    for (let i = 0; i < batch.length; i += BATCH_KEYS) {
      const part = batch.slice(i, i + BATCH_KEYS);
      const wire: Wire = { n: lease.id, b: part.map(([k, c]) => [k, [...c]]) };
      const sent: Promise<void> = redis
        .publish(channel, JSON.stringify(wire))
        .then(
          () => undefined,
          () => {
            for (const [key, changed] of part) keep(key, changed);
            if (!retrying) {
              // The retry delay replaces a window armed meanwhile: Redis just refused.
              if (timer) clearTimeout(timer);
              timer = undefined;
              retrying = true;
            }
            arm(retryMs);
          },
        )
        .finally(() => sending.delete(sent));
      sending.add(sent);
    }
  };

  /**
   * Sends what waits now (not after the window, nor after a retry delay: a shutdown does not
   * wait it out) and resolves once Redis answered, or after CLOSE_WAIT_MS: a Redis that does not
   * answer holds no caller (a shutdown) up for longer.
   */
  const flushNow = async () => {
    flush();
    let wait: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...sending]),
      new Promise<void>((r) => {
        wait = setTimeout(r, CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(wait);
  };

  const received = (message: string) => {
    let wire: Partial<Wire & OldWire>;
    try {
      wire = JSON.parse(message) as Partial<Wire & OldWire>;
    } catch {
      return;
    }
    // Its own notices: the owner's pass has served the inboxes open on this node.
    if (!wire || wire.n === lease.id) return;
    // A batch, or one notice per message from a node of the version before batching.
    const entries = Array.isArray(wire.b) ? wire.b : [[wire.k, wire.c]];
    for (const entry of entries) {
      if (!Array.isArray(entry)) continue;
      const [k, c] = entry as [unknown, unknown];
      const parsed = typeof k === 'string' ? tryParseKey(k) : undefined;
      if (!parsed || !Array.isArray(c) || !c.every(isIdentityId)) continue;
      const notice: InboxNotice = { key: parsed.key, changed: c };
      for (const listener of listeners) listener.notice(notice);
    }
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
      // Merged with a notice of the same conversation waiting already; sent with the others of
      // the window (or after the retry delay while Redis refuses).
      keep(key, changed);
      // A full message's worth goes at once; MAX_UNSENT then only bounds what Redis refused.
      if (!retrying && unsent.size >= BATCH_KEYS) flush();
      else arm(retrying ? retryMs : batchMs);
    },
    flush: flushNow,
    listen(listener) {
      listeners.push(listener);
    },
    close() {
      // One close for every caller: a second one during the first's flush waits for it.
      closing ??= (async () => {
        // What the last passes (a drain's) published goes out first: a drained node's death
        // makes no other node resync. What Redis refuses now is dropped: those nodes' inboxes
        // resync when their subscription comes back, or reopen (module comment).
        await flushNow();
        closed = true;
        deaths.close();
        if (timer) clearTimeout(timer);
        await subscriber.unsubscribe(channel).catch(() => undefined);
        subscriber.destroy();
      })();
      return closing;
    },
  };
}
