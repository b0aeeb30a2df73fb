/**
 * @module Wires a running server from a Config: store, id generator, rooms, app, HTTP and
 * WebSocket servers; and takes it down gracefully. main.ts calls this, and so do the tests.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { WebSocketServer } from 'ws';
import * as Y from 'yjs';
import { ConvosyncError } from '../shared/errors.js';
import type { IdentityId } from '../shared/ids.js';
import { parseDocKey } from '../shared/keys.js';
import type { Profile } from '../shared/schema.js';
import { type ClusterNode, startClusterNode } from './cluster/node.js';
import { OrphanSweep } from './cluster/orphans.js';
import { ownerOf } from './cluster/placement.js';
import type { Config } from './config.js';
import { type Database, openConfiguredDatabase } from './db/connect.js';
import { startVacuum, type Vacuum } from './db/vacuum.js';
import { localFeed } from './feed/local.js';
import type { Feed } from './feed/types.js';
import { roomAccess } from './files/access.js';
import type { BlobStore } from './files/blob-store.js';
import { diskBlobStore } from './files/disk.js';
import { diskFileRefs } from './files/disk-refs.js';
import { postgresBlobStore } from './files/postgres.js';
import { postgresFileRefs } from './files/postgres-refs.js';
import { createApp } from './http/app.js';
import { Inboxes } from './inbox/inboxes.js';
import { createLogger, type Logger } from './log.js';
import { createIdGenerator } from './message-ids.js';
import { createMetrics } from './metrics.js';
import { createModeration } from './moderation/moderation.js';
import { type PeopleDirectory, sqlPeopleDirectory } from './people/directory.js';
import { memoryPresence, type PresenceRegistry } from './presence.js';
import { Projector, projectedChannel } from './projector/projector.js';
import { Retention } from './retention/retention.js';
import { watchStore } from './store/health.js';
import { openLeveldbStore } from './store/leveldb.js';
import type { DocStore } from './store/types.js';
import { createFilter } from './sync/filter.js';
import { FullStates } from './sync/full-state.js';
import { LogBudget } from './sync/log-budget.js';
import { Outbound } from './sync/outbound.js';
import { pendingBytesFor } from './sync/pending-frames.js';
import { Rooms, type ServerRooms } from './sync/rooms.js';
import type { SyncRooms } from './sync/socket.js';
import { SocketQuota } from './sync/socket-quota.js';

export interface RunningServer {
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  readonly rooms: Rooms;
  /** Keeps every member's inbox document up to date. */
  readonly inboxes: Inboxes;
  readonly store: DocStore;
  /** Every durable step of every room, as it happens (the projector and inboxes read it). */
  readonly feed: Feed;
  /** The snapshot database and its projector, unless SNAPSHOTS=off. */
  readonly db?: Database;
  readonly projector?: Projector;
  /** Expires messages past messageRetentionDays (with the snapshot tables). */
  readonly retention?: Retention;
  /** This node of a cluster (DATABASE_URL + REDIS_URL), in cluster mode. */
  readonly cluster?: ClusterNode;
  /** Cluster mode: projects what a dead owner left unprojected (server/cluster/orphans.ts). */
  readonly orphans?: OrphanSweep;
  /** Stops accepting, waits until queued changes are durable, closes sockets and storage. */
  close(): Promise<void>;
}

export interface ServerOverrides {
  store?: DocStore;
  log?: Logger;
  /** Server clock (tests control time-based rules through it). */
  now?: () => number;
  /** Where uploaded files go instead of FILES_DIR (e.g. an object store). */
  blobs?: BlobStore;
}

export async function startServer(
  config: Config,
  overrides: ServerOverrides = {},
): Promise<RunningServer> {
  const log = overrides.log ?? createLogger(config.logLevel);
  const now = overrides.now ?? Date.now;
  const connections = { count: () => 0 };
  let projector: Projector | undefined;
  const metrics = createMetrics({
    connections: () => connections.count(),
    documents: () => rooms.count,
    projectionLagMs: () => projector?.lagMs() ?? 0,
    projectionFailing: () => projector?.failing ?? 0,
  });
  let store = overrides.store;
  let db: (Database & { applied: number[] }) | undefined;
  let cluster: ClusterNode | undefined;
  if (config.cluster && config.redisUrl) {
    // Cluster mode: documents in the fenced Postgres log, ids under a leased node slot.
    db = await openConfiguredDatabase(config, log);
    cluster = await startClusterNode({
      redisUrl: config.redisUrl,
      sql: db.sql,
      nodeId: config.nodeId,
      log,
      now,
      rateLimits: config.moderation.rates,
      onBatch: ({ writes }) => metrics.storeBatchWrites.observe(writes),
    });
    store = cluster.store;
  }
  if (!store) {
    await fs.mkdir(config.dataDir, { recursive: true });
    store = await openLeveldbStore(path.join(config.dataDir, 'docs'), {
      onBatch: ({ writes }) => metrics.storeBatchWrites.observe(writes),
    });
  }
  const watched = watchStore(store, { probeMs: config.storageProbeMs });
  store = watched.store;
  const openStore = store;
  const ids = cluster ? cluster.ids : await createIdGenerator(store, config.nodeId, now);
  let retention: Retention | undefined;
  let orphans: OrphanSweep | undefined;
  let people: PeopleDirectory | undefined;
  let vacuum: Vacuum | undefined;
  if (config.snapshots || db) {
    const opened = db ?? (await openConfiguredDatabase(config, log));
    db = opened;
    people = sqlPeopleDirectory({ sql: opened.sql, log });
    log.info('snapshot database ready', {
      database: opened.where,
      migrationsApplied: opened.applied,
    });
    // PGlite has no autovacuum (vacuum.ts); a real Postgres has its own.
    if (opened.kind === 'pglite' && config.pgliteVacuumMs > 0)
      vacuum = startVacuum(opened.sql, { everyMs: config.pgliteVacuumMs, log });
  }
  const moderation = await createModeration(config.moderation, {
    now,
    metrics,
    ...(cluster ? { rateLimit: cluster.rateLimit } : {}),
  });
  const filter = createFilter({
    maxUpdateBytes: config.maxFrameBytes,
    maxStructs: config.maxUpdateStructs,
    maxDevicesPerIdentity: config.maxDevicesPerIdentity,
    sensitive: moderation.sensitive,
  });
  const feed = localFeed((error, change) =>
    log.error('a feed subscriber failed', { doc: change.doc, error }),
  );
  const rooms: Rooms = new Rooms(
    {
      store,
      ids,
      filter,
      log,
      now,
      compactEvery: 500,
      // This server's own: its clientIDs for the documents it writes (stamp.ts).
      epoch: randomBytes(16),
      maxAwarenessBytes: 8192,
      maxStructs: config.maxUpdateStructs,
      moderation,
      awarenessFanoutMs: config.awarenessFanoutMs,
      awarenessFloorMs: config.awarenessFloorMs,
      metrics,
      feed,
      ...(config.fullStateCacheBytes > 0
        ? { fullStates: new FullStates(config.fullStateCacheBytes) }
        : {}),
    },
    config.roomIdleMs,
    cluster && {
      ...cluster.placement,
      // A room appends through its own view of the log: its failures count for /ready too.
      storeFor: (key) => watched.watch(cluster.placement.storeFor(key)),
    },
  );
  const inboxes = new Inboxes({
    rooms,
    store,
    log,
    now,
    debounceMs: config.inboxDebounceMs,
    maxDelayMs: config.inboxMaxDelayMs,
    ...(cluster ? { cluster: cluster.inbox } : {}),
  });
  feed.subscribe((change) => inboxes.notify(change.doc));
  feed.subscribe((change) => {
    // An identity writes only its own profile (the rules), so the author is its key.
    const profile = change.profiles.find(([identity]) => identity === change.author)?.[1];
    if (people && profile && typeof profile === 'object')
      people.profile(change.author as IdentityId, profile as Profile);
  });
  if (db) {
    const owner = cluster?.lease;
    projector = new Projector({
      sql: db.sql,
      ids,
      log,
      now: Date.now,
      // Cluster mode: a node projects only the documents it owns (their changes reach only its
      // feed); one owned elsewhere, or by nobody, is not claimed to be projected.
      borrow: owner
        ? async (key) => (owner.owned().has(key) ? rooms.borrow(key) : undefined)
        : (key) => rooms.borrow(key),
      ...(cluster
        ? {
            guardCursors: true,
            elsewhereMaxDelayMs: config.projectorMaxDelayMs + 1000,
            channel: projectedChannel(config.databaseSchema),
            lookupPollMs: config.lookupPollMs,
          }
        : {}),
      debounceMs: config.projectorDebounceMs,
      maxDelayMs: config.projectorMaxDelayMs,
      onProjected: (_key, lag) => metrics.projectionLagSeconds.observe(lag / 1000),
      onFailed: (_key, down) =>
        metrics.projectionFailures.inc({ cause: down ? 'database' : 'document' }),
    });
    const projecting = projector;
    if (cluster) {
      // Every node's committed pass wakes the lookups waiting here for it (Projector.lookup).
      await db.sql.listen(projectedChannel(config.databaseSchema), () => projecting.projected());
      orphans = new OrphanSweep({
        sql: db.sql,
        lease: cluster.lease,
        project: (key) => projecting.notify(key),
        log,
        intervalMs: config.orphanSweepMs,
        settleMs: 30_000,
      });
      orphans.start();
      // What its previous owner appended but did not live to project is projected now.
      rooms.onLoad((room) => {
        if (room.parsed.type !== 'inbox')
          void projecting
            .checkLoaded(room.key, Y.encodeStateVector(room.doc))
            .catch((error) => log.warn('projection check failed', { room: room.key, error }));
        return undefined;
      });
    }
    feed.subscribe((change) => {
      if (change.author && change.reads.length > 0)
        projecting.accepted(change.doc, {
          author: change.author,
          at: change.at,
          reads: change.reads,
        });
      projecting.notify(change.doc);
    });
    retention = new Retention({
      sql: db.sql,
      projector,
      rooms,
      log,
      now,
      intervalMs: config.retentionSweepMs,
      ...(owner
        ? {
            owns: async (key: string) => (await ownerOf(owner, parseDocKey(key).key)) === owner.id,
          }
        : {}),
    });
    retention.start();
  }
  // Every node of a cluster reads the files any node took in.
  const blobs =
    overrides.blobs ??
    (cluster && db ? await postgresBlobStore(db.sql) : await diskBlobStore(config.filesDir));
  const fileRefs =
    cluster && db
      ? postgresFileRefs(db.sql)
      : await diskFileRefs(path.join(config.filesDir, 'refs'));
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxFrameBytes });
  const presence: PresenceRegistry = cluster?.presence ?? memoryPresence();
  // Cluster mode: sockets and server writes are routed to each conversation's owner.
  const routed = cluster
    ? await cluster.attach(rooms, {
        genesisWindowMs: config.genesisWindowMs,
        maxPendingBytes: pendingBytesFor(config.maxFrameBytes),
      })
    : undefined;
  const socketRooms: SyncRooms = routed?.sockets ?? rooms;
  const serverRooms: ServerRooms = routed?.server ?? rooms;
  connections.count = () => wss.clients.size;
  const app = createApp({
    jwtSecret: config.jwtSecret,
    devAuth: config.devAuth,
    webDir: config.webDir,
    storage: watched.health,
    rooms: serverRooms,
    log,
    connections: () => wss.clients.size,
    startedAt: Date.now(),
    metrics,
    files: { blobs, refs: fileRefs, access: roomAccess(serverRooms) },
    ...(projector && db ? { snapshots: { projector, database: db.where, sql: db.sql } } : {}),
    presence,
    ...(people ? { people } : {}),
    socket: {
      presence,
      rooms: socketRooms,
      log,
      heartbeatMs: config.heartbeatMs,
      maxPendingBytes: pendingBytesFor(config.maxFrameBytes),
      outbound: new Outbound({
        perSocket: config.maxSocketBufferBytes,
        total: config.maxOutboundBytes,
      }),
      quota: new SocketQuota(config.maxSocketsPerIdentity),
      closeLog: new LogBudget(20, 10_000),
      genesisWindowMs: config.genesisWindowMs,
    },
  });

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      { fetch: app.fetch, port: config.port, hostname: config.host, websocket: { server: wss } },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${shownHost}:${port}`;
  log.info('convosync listening', { url, dataDir: config.dataDir, devAuth: config.devAuth });
  if (projector && !cluster) {
    // Documents changed while the projector was down (crash, outage) are projected again.
    projector
      .catchUp(
        () => openStore.list(),
        (name) => openStore.stateVector(name),
      )
      .then((marked) => log.info('projection catch-up scheduled', { documents: marked }))
      .catch((error) => log.error('projection catch-up failed', { error }));
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    rooms,
    inboxes,
    store,
    feed,
    ...(db ? { db } : {}),
    ...(projector ? { projector } : {}),
    ...(retention ? { retention } : {}),
    ...(orphans ? { orphans } : {}),
    ...(cluster ? { cluster } : {}),
    close() {
      closing ??= (async () => {
        log.info('shutting down');
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        cluster?.stopAccepting();
        await retention?.stop();
        await orphans?.stop();
        // The sockets' input stops first: what they sent becomes durable and published, and the
        // inbox passes and projections of all of it run while the rooms are still loaded.
        await rooms.quiesce(new ConvosyncError('SHUTTING_DOWN'));
        await inboxes.close();
        await projector?.close();
        await rooms.close(new ConvosyncError('SHUTTING_DOWN'));
        // Releases every room lease: other nodes take them at their next client.
        await cluster?.close();
        await people?.flush();
        await vacuum?.stop();
        await db?.close();
        for (const socket of wss.clients)
          socket.close(1001, 'SHUTTING_DOWN: server is shutting down');
        await openStore.close();
        // Sockets that do not answer the close handshake must not hold the process open.
        const force = setTimeout(() => {
          for (const socket of wss.clients) socket.terminate();
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, 2000);
        force.unref();
        await stopped;
        clearTimeout(force);
        log.info('stopped');
      })();
      return closing;
    },
  };
}
