/**
 * @module The Hono app: health, readiness and the /sync WebSocket endpoint. Every error thrown
 * in a handler is converted here, once, into the `{ code, message, data }` envelope.
 */
import { upgradeWebSocket, type WebSocketLike } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { WSEvents } from 'hono/ws';
import { ConvosyncError } from '../../shared/errors.js';
import { tryParseDocKey } from '../../shared/keys.js';
import { retryInMs } from '../../shared/retry.js';
import { type AuthEnv, authenticate } from '../auth/middleware.js';
import type { Sql } from '../db/connect.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { PeopleDirectory } from '../people/directory.js';
import type { PresenceRegistry } from '../presence.js';
import type { Projector } from '../projector/projector.js';
import type { StorageHealth } from '../store/health.js';
import type { ServerRooms } from '../sync/rooms.js';
import { type SocketDeps, syncSocket } from '../sync/socket.js';
import { openApiDocument } from './openapi.js';
import { assistantRoutes } from './routes/assistant.js';
import { conversationStatusRoutes } from './routes/conversation-status.js';
import { conversationRoutes } from './routes/conversations.js';
import { devRoutes } from './routes/dev.js';
import { eventRoutes } from './routes/events.js';
import { type FileRoutesDeps, fileRoutes } from './routes/files.js';
import { groupAdminRoutes } from './routes/group-admin.js';
import { messageRoutes } from './routes/messages.js';
import { noticeRoutes } from './routes/notices.js';
import { peopleRoutes } from './routes/people.js';
import { presenceRoutes } from './routes/presence.js';
import { searchRoutes } from './routes/search.js';
import { webApp } from './web.js';

export interface AppDeps {
  jwtSecret: string;
  /** Mount the development sign-in (`POST /api/dev/token`): only without a real JWT_SECRET. */
  devAuth?: boolean;
  /** The built web app served at `/`. */
  webDir?: string;
  /** Whether the store is open and its writes succeed (readiness). */
  storage: StorageHealth;
  rooms: ServerRooms;
  log: Logger;
  socket: SocketDeps;
  /** Open sockets right now (health). */
  connections: () => number;
  startedAt: number;
  metrics: Metrics;
  snapshots?: { projector: Projector; database: string; sql: Sql };
  /** Uploads and downloads (/api/v1/files). */
  files?: FileRoutesDeps;
  /** Online status across conversations (GET /api/v1/presence). */
  presence?: PresenceRegistry;
  /** Who has signed in (fed by every accepted token; GET /api/v1/people). */
  people?: PeopleDirectory;
}

/**
 * The largest JSON request body (bytes). The biggest legitimate one, a group created with 499
 * members, is about 30 KB; uploads (/files) have their own limits per format.
 */
export const REST_BODY_LIMIT = 1024 * 1024;

/** Refuses larger bodies with 413 BODY_TOO_LARGE before anything parses them. */
export function jsonBodyLimit(maxSize = REST_BODY_LIMIT): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ConvosyncError('BODY_TOO_LARGE', `request body over ${maxSize} bytes`);
    },
  });
}

export interface Envelope<T> {
  code: string;
  message: string;
  data: T | null;
}

export function createApp(deps: AppDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  // A token accepted is a sign-in: the people directory learns the identity (written in the
  // background, at most once an hour per identity).
  const signedIn: MiddlewareHandler<AuthEnv> = async (c, next) => {
    deps.people?.seen(c.get('identity'));
    await next();
  };

  app.get('/health', (c) =>
    c.json({
      code: 'OK',
      message: 'ok',
      data: {
        storage: deps.storage.state,
        ...(deps.storage.error ? { storageError: deps.storage.error } : {}),
        rooms: deps.rooms.count,
        connections: deps.connections(),
        uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
        snapshots: deps.snapshots
          ? {
              database: deps.snapshots.database,
              lagMs: deps.snapshots.projector.lagMs(),
              pendingDocuments: deps.snapshots.projector.pending,
              failingDocuments: deps.snapshots.projector.failing,
            }
          : 'off',
      },
    }),
  );

  app.get('/metrics', async (c) => {
    const body = await deps.metrics.registry.metrics();
    return c.text(body, 200, { 'content-type': deps.metrics.registry.contentType });
  });

  // Readiness: 503 while storage is closed (shutdown) or its writes fail (full disk), so a load
  // balancer stops sending traffic; 200 again once a write succeeds.
  app.get('/ready', (c) => {
    const state = deps.storage.state;
    return state === 'open'
      ? c.json({ code: 'OK', message: 'ready', data: { storage: state } })
      : c.json(
          {
            code: 'STORAGE_UNAVAILABLE',
            message: state === 'closed' ? 'storage is closed' : 'storage writes are failing',
            data: { storage: state },
          },
          503,
        );
  });

  app.get(
    '/sync/:room',
    authenticate(deps.jwtSecret),
    signedIn,
    upgradeWebSocket((c) => {
      const name = c.req.param('room') ?? '';
      const parsed = tryParseDocKey(name);
      if (!parsed)
        throw new ConvosyncError('INVALID_KEY', `not a document name: ${name.slice(0, 120)}`);
      return syncSocket(
        deps.socket,
        parsed.key,
        c.get('identity'),
        c.req.query('acks') === '1',
        c.get('expiresAt'),
      ) as WSEvents<WebSocketLike>;
    }),
  );

  const api = new Hono<AuthEnv>();
  api.use('*', authenticate(deps.jwtSecret));
  api.use('*', signedIn);
  // Every JSON body; uploads stream to disk under their own per-format limits.
  const limit = jsonBodyLimit();
  api.use('*', (c, next) => (c.req.path.startsWith('/api/v1/files') ? next() : limit(c, next)));
  api.route(
    '/messages',
    messageRoutes({
      rooms: deps.rooms,
      ...(deps.snapshots ? { sql: deps.snapshots.sql, projector: deps.snapshots.projector } : {}),
    }),
  );
  const conversationDeps = {
    rooms: deps.rooms,
    ...(deps.snapshots ? { sql: deps.snapshots.sql, projector: deps.snapshots.projector } : {}),
  };
  // Before conversationRoutes: its `/:conversationId` must not shadow `/assistant/list`.
  api.route('/conversations', assistantRoutes(conversationDeps));
  api.route('/conversations', groupAdminRoutes(conversationDeps));
  api.route('/conversations', conversationStatusRoutes(conversationDeps));
  api.route(
    '/conversations',
    conversationRoutes({
      rooms: deps.rooms,
      ...(deps.snapshots ? { sql: deps.snapshots.sql, projector: deps.snapshots.projector } : {}),
    }),
  );
  api.route('/events', eventRoutes(deps.snapshots ? { sql: deps.snapshots.sql } : {}));
  api.route('/notices', noticeRoutes({ rooms: deps.rooms }));
  if (deps.files) api.route('/files', fileRoutes(deps.files));
  api.route(
    '/search',
    searchRoutes(
      deps.snapshots ? { sql: deps.snapshots.sql, projector: deps.snapshots.projector } : {},
    ),
  );
  if (deps.presence) api.route('/presence', presenceRoutes({ presence: deps.presence }));
  if (deps.people) api.route('/people', peopleRoutes({ people: deps.people }));
  // Built once all /api/v1 routes are registered, on first request.
  let document: Record<string, unknown> | undefined;
  app.get('/api/v1/openapi.json', (c) => {
    document ??= openApiDocument(api as never);
    return c.json(document);
  });
  app.route('/api/v1', api);
  if (deps.devAuth) app.route('/api/dev', devRoutes(deps.jwtSecret));
  if (deps.webDir) {
    const web = webApp(deps.webDir);
    app.get('*', async (c, next) => (await web(c)) ?? next());
  }

  app.notFound((c) =>
    c.json(
      { code: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}`, data: null },
      404,
    ),
  );

  app.onError((error, c) => {
    if (error instanceof ConvosyncError) {
      const retry = retryInMs(error);
      const headers: Record<string, string> =
        retry === undefined ? {} : { 'Retry-After': String(Math.ceil(retry / 1000)) };
      // The rest of an oversized body is never read: the connection cannot carry another request.
      if (error.code === 'BODY_TOO_LARGE') headers.Connection = 'close';
      return c.json(
        { code: error.code, message: error.message, data: null } satisfies Envelope<null>,
        error.status as ContentfulStatusCode,
        headers,
      );
    }
    if (error instanceof HTTPException) {
      return c.json(
        { code: 'BAD_REQUEST', message: error.message, data: null },
        error.status as ContentfulStatusCode,
      );
    }
    deps.log.error('unhandled error', { error, path: c.req.path });
    return c.json({ code: 'INTERNAL', message: 'internal error', data: null }, 500);
  });

  return app;
}
