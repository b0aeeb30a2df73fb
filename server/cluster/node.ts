/**
 * @module One node of a cluster (DATABASE_URL + REDIS_URL, ../config.ts): the pieces of
 * server/cluster/ put together for server.ts. In order of start:
 *
 * - the message-id node slot, leased in Postgres (node-slot.ts), and the id generator on it;
 * - the fenced document log in Postgres (../store/postgres.ts), written with this slot;
 * - the node's heartbeat and room leases in Redis (lease.ts); a lost room is evicted at once;
 * - presence in Redis (presence.ts) and the identity rate limits (rate-limit.ts);
 * - the inbox's notices between nodes (inbox-notices.ts), on a subscription of its own;
 * - once the rooms exist (`attach`): rooms load only where owned (placement.ts), unloaded rooms
 *   are released, sockets are routed to the owner (relay.ts), and so are the server writes of
 *   REST and notices, whose reads use copies of the log (server-rooms.ts, replicas.ts).
 *
 * `close` is the drain: sockets are refused, the relay sends what it has queued, every room
 * lease and the heartbeat are released (another node claims them at the next client, without
 * waiting for an expiry), presence counts leave, the slot is freed.
 */
import { randomUUID } from 'node:crypto';
import { ConvosyncError } from '../../shared/errors.js';
import type { DocName } from '../../shared/keys.js';
import type { Sql } from '../db/connect.js';
import type { InboxCluster } from '../inbox/inboxes.js';
import type { Logger } from '../log.js';
import type { IdGenerator } from '../message-ids.js';
import type { RateLimits } from '../moderation/rate-limit.js';
import type { RateLimit } from '../moderation/rate-limit-seam.js';
import type { PresenceRegistry } from '../presence.js';
import type { FencedDocStore } from '../store/fenced.js';
import type { BatchStats } from '../store/group-commit.js';
import { mergeThread } from '../store/merge-thread.js';
import { openPostgresStore } from '../store/postgres.js';
import type { RoomPlacement, Rooms, ServerRooms } from '../sync/rooms.js';
import type { SyncRooms } from '../sync/socket.js';
import { startInboxNotices } from './inbox-notices.js';
import { type NodeLease, startNodeLease } from './lease.js';
import { leasedIdGenerator, leaseNodeSlot, type NodeSlot } from './node-slot.js';
import { leasedPlacement } from './placement.js';
import { type ClusterPresence, redisPresence } from './presence.js';
import { redisRateLimit } from './rate-limit.js';
import { connectRedis, type Redis } from './redis.js';
import { Relay } from './relay.js';
import { Replicas } from './replicas.js';
import { clusterServerRooms } from './server-rooms.js';

export interface ClusterNodeOptions {
  redisUrl: string;
  sql: Sql;
  /** The preferred message-id slot (NODE_ID); another free one if it is taken. */
  nodeId: number;
  log: Logger;
  now: () => number;
  rateLimits: RateLimits;
  /** Told about every batch of log appends written (metrics). */
  onBatch?: (stats: BatchStats) => void;
}

export interface ClusterNode {
  /** `${slot}-${boot}`: this process life's name in Redis. */
  readonly id: string;
  readonly slot: NodeSlot;
  readonly lease: NodeLease;
  readonly store: FencedDocStore;
  readonly ids: IdGenerator;
  readonly presence: PresenceRegistry;
  readonly rateLimit: RateLimit;
  readonly placement: RoomPlacement;
  /** What the inbox of this node needs of the others (notices, copies of conversations). */
  readonly inbox: InboxCluster;
  /**
   * Wires the rooms in; returns what sockets open rooms through, and what REST, notices and file
   * access do.
   */
  attach(
    rooms: Rooms,
    options: { genesisWindowMs: number; maxPendingBytes: number },
  ): Promise<{ sockets: SyncRooms; server: ServerRooms }>;
  /** The relay between the nodes, once `attach` ran (tests reach into it). */
  readonly relay: Relay | undefined;
  /** Refuses new sockets (the first step of a drain). */
  stopAccepting(): void;
  /** The rest of the drain, after the rooms closed their peers. */
  close(): Promise<void>;
}

export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const { log } = options;
  const redis: Redis = await connectRedis(options.redisUrl, {
    onError: (error) => log.warn('redis connection error', { error }),
  });
  const slot = await leaseNodeSlot({
    sql: options.sql,
    prefer: options.nodeId,
    onLost: () => log.error('this node lost its message-id slot; no ids until restarted'),
  });
  const ids = await leasedIdGenerator(slot, options.now);
  const store = openPostgresStore(options.sql, {
    node: slot.slot,
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
  });
  const id = `${slot.slot}-${randomUUID().slice(0, 8)}`;
  let evict: (room: string) => void = () => {};
  const lease = await startNodeLease({
    redis,
    id,
    onLost: (room, reason) => {
      log.warn('room ownership lost', { room, reason });
      evict(room);
    },
  });
  const presence: ClusterPresence = redisPresence({
    redis,
    node: id,
    onError: (error) => log.warn('presence in redis failed', { error }),
  });
  const rateLimit = redisRateLimit({
    redis,
    limits: options.rateLimits,
    now: options.now,
    onError: (error) => log.warn('rate limit in redis failed, local buckets for now', { error }),
  });
  const replicas = new Replicas({ store });
  const merger = mergeThread();
  const notices = await startInboxNotices({
    redis,
    redisUrl: options.redisUrl,
    lease,
    replicas,
    log,
  });
  let relay: Relay | undefined;
  log.info('cluster node started', { node: id, slot: slot.slot });
  return {
    id,
    slot,
    lease,
    store,
    ids,
    presence,
    rateLimit,
    placement: leasedPlacement(lease, store, replicas, merger),
    inbox: { ...notices, swapMeta: (key, expected, value) => store.swapMeta(key, expected, value) },
    get relay() {
      return relay;
    },
    async attach(rooms, { genesisWindowMs, maxPendingBytes }) {
      evict = (room) => rooms.evict(room as DocName, new ConvosyncError('FENCED'));
      rooms.onUnload((key) => {
        // Nobody uses it here any more: the next client's node may take it without a wait.
        lease.release(key).catch((error) => log.warn('room release failed', { room: key, error }));
      });
      relay = await Relay.start({ redis, lease, rooms, log, genesisWindowMs, maxPendingBytes });
      return {
        sockets: relay,
        server: clusterServerRooms({ rooms, lease, relay, replicas, log }),
      };
    },
    stopAccepting() {
      relay?.stopAccepting();
    },
    async close() {
      await relay?.close(new ConvosyncError('SHUTTING_DOWN'));
      await notices.close();
      replicas.close();
      await lease.drain().catch((error) => log.warn('lease drain failed', { error }));
      await presence.close().catch((error) => log.warn('presence close failed', { error }));
      await slot.release().catch((error) => log.warn('slot release failed', { error }));
      await merger.close().catch((error) => log.warn('merge thread close failed', { error }));
      await store.close();
      await redis.close();
    },
  };
}
