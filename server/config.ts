/**
 * @module Configuration from environment variables, parsed once at start-up (main.ts passes
 * process.env; no other module reads it). Every variable has a default that works on a fresh
 * machine, except that production refuses to start without a real JWT secret.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLogLevel, type LogLevelName } from './log.js';
import { type ModerationConfig, parseModerationConfig } from './moderation/config.js';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** Uploaded files (blobs and their per-conversation references); default DATA_DIR/files. */
  filesDir: string;
  /** The built web app served at `/` (`npm run build:web`); default web/dist of the project. */
  webDir: string;
  jwtSecret: string;
  /** True when the built-in development secret is in use (tokens from `npm run token`). */
  devAuth: boolean;
  /** Largest WebSocket frame accepted; larger frames are closed with 1009 by `ws`. */
  maxFrameBytes: number;
  /** Interval of WebSocket pings; a socket that missed the previous pong is dropped. */
  heartbeatMs: number;
  /** How long an empty room stays loaded before it is compacted and unloaded. */
  roomIdleMs: number;
  /** Bytes of whole-document encodings kept for clients that arrive empty (sync/full-state.ts). */
  fullStateCacheBytes: number;
  /** 0..1023, part of every message id, so ids stay unique across nodes. */
  nodeId: number;
  logLevel: LogLevelName;
  /** Keep the snapshot tables (t_conversation, ...) in Postgres; `SNAPSHOTS=off` disables. */
  snapshots: boolean;
  /** A real Postgres; without it, an embedded PGlite under DATA_DIR/pg. */
  databaseUrl?: string;
  /** A schema to use instead of `public` (created if missing). */
  databaseSchema?: string;
  /** Connections to DATABASE_URL; 1 when it points at a pglite-socket server. */
  databasePoolMax: number;
  /**
   * Redis for cluster mode: with DATABASE_URL, documents live in the fenced Postgres log and
   * rooms are owned by one node each (server/cluster/); without it, single-node mode.
   */
  redisUrl?: string;
  /** DATABASE_URL and REDIS_URL both set: this process is one node of a cluster. */
  cluster: boolean;
  /** The projector waits this long after a change to batch the next ones... */
  projectorDebounceMs: number;
  /** ...but never longer than this after the first unprojected change. */
  projectorMaxDelayMs: number;
  /** Cluster mode: a lookup waiting for another node's projection asks again this often anyway. */
  lookupPollMs: number;
  /** The inbox pass waits this long after a conversation's change, at most `inboxMaxDelayMs`. */
  inboxDebounceMs: number;
  inboxMaxDelayMs: number;
  /** Cluster mode: how often a node looks for documents whose dead owner left them unprojected. */
  orphanSweepMs: number;
  /** The embedded PGlite (no DATABASE_URL): VACUUM every this many ms; 0: never. */
  pgliteVacuumMs: number;
  /** Sensitive words and rate limits (SENSITIVE_WORDS*, MODERATION_MODE, RATE_LIMIT_*). */
  moderation: ModerationConfig;
  /** At most one awareness (presence, typing) broadcast per room per this many ms. */
  awarenessFanoutMs: number;
  /** A client's awareness updates closer together than this are merged (removals excepted). */
  awarenessFloorMs: number;
  /** Unwritten bytes one socket may hold; a reader that falls behind is dropped and resyncs. */
  maxSocketBufferBytes: number;
  /** Unwritten bytes all sockets together may hold; over it, the most behind is dropped. */
  maxOutboundBytes: number;
  /** Open sockets per identity (the SDK opens one per open conversation, plus the inbox). */
  maxSocketsPerIdentity: number;
  /** Structs (items and deletions' structs) one update may carry. */
  maxUpdateStructs: number;
  /** Devices per identity in a conversation's read and delivered positions. */
  maxDevicesPerIdentity: number;
  /** A group with no genesis this long after a socket joined it is closed and unloaded. */
  genesisWindowMs: number;
  /** While storage writes fail, a probe write every this many ms (readiness comes back). */
  storageProbeMs: number;
  /** How often expired messages (messageRetentionDays) leave the documents and tables. */
  retentionSweepMs: number;
}

const MiB = 1024 * 1024;

export const DEV_JWT_SECRET = 'convosync-dev-secret-do-not-use-in-production';

export function parseConfig(env: Record<string, string | undefined>): Config {
  const production = env.NODE_ENV === 'production';
  const secret = env.JWT_SECRET;
  if (production && !secret) throw new Error('JWT_SECRET is required when NODE_ENV=production');
  if (secret !== undefined && secret.length < 32) {
    throw new Error('JWT_SECRET must be at least 32 characters (HS256 needs 256 bits of key)');
  }
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!isLogLevel(logLevel))
    throw new Error(`LOG_LEVEL must be debug, info, warn, error or silent, not ${logLevel}`);
  return {
    host: env.HOST ?? '0.0.0.0',
    port: int(env, 'PORT', 8787, 0, 65535),
    dataDir: path.resolve(env.DATA_DIR ?? 'data'),
    filesDir: path.resolve(env.FILES_DIR || path.join(env.DATA_DIR ?? 'data', 'files')),
    webDir: path.resolve(env.WEB_DIR || fileURLToPath(new URL('../web/dist', import.meta.url))),
    jwtSecret: secret ?? DEV_JWT_SECRET,
    devAuth: secret === undefined,
    maxFrameBytes: int(env, 'MAX_FRAME_BYTES', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    heartbeatMs: int(env, 'HEARTBEAT_MS', 30_000, 100, 3_600_000),
    roomIdleMs: int(env, 'ROOM_IDLE_MS', 30_000, 0, 86_400_000),
    fullStateCacheBytes: int(env, 'FULL_STATE_CACHE_MB', 64, 0, 65_536) * 1024 * 1024,
    nodeId: int(env, 'NODE_ID', 0, 0, 1023),
    logLevel,
    snapshots: (env.SNAPSHOTS ?? 'on') !== 'off',
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    ...(env.DATABASE_SCHEMA
      ? { databaseSchema: identifier(env.DATABASE_SCHEMA, 'DATABASE_SCHEMA') }
      : {}),
    databasePoolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 100),
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    cluster: Boolean(env.DATABASE_URL && env.REDIS_URL),
    projectorDebounceMs: int(env, 'PROJECTOR_DEBOUNCE_MS', 250, 0, 60_000),
    projectorMaxDelayMs: int(env, 'PROJECTOR_MAX_DELAY_MS', 500, 0, 600_000),
    lookupPollMs: int(env, 'LOOKUP_POLL_MS', 1000, 10, 600_000),
    inboxDebounceMs: int(env, 'INBOX_DEBOUNCE_MS', 50, 0, 60_000),
    inboxMaxDelayMs: int(env, 'INBOX_MAX_DELAY_MS', 500, 0, 600_000),
    orphanSweepMs: int(env, 'ORPHAN_SWEEP_MS', 60_000, 1000, 86_400_000),
    pgliteVacuumMs: int(env, 'PGLITE_VACUUM_MS', 300_000, 0, 86_400_000),
    moderation: parseModerationConfig(env),
    awarenessFanoutMs: int(env, 'AWARENESS_FANOUT_MS', 200, 0, 10_000),
    awarenessFloorMs: int(env, 'AWARENESS_FLOOR_MS', 250, 0, 10_000),
    maxSocketBufferBytes: int(env, 'MAX_SOCKET_BUFFER_BYTES', 4 * MiB, 64 * 1024, 1024 * MiB),
    maxOutboundBytes: int(env, 'MAX_OUTBOUND_BYTES', 256 * MiB, 64 * 1024, 64 * 1024 * MiB),
    maxSocketsPerIdentity: int(env, 'MAX_SOCKETS_PER_IDENTITY', 200, 1, 100_000),
    maxUpdateStructs: int(env, 'MAX_UPDATE_STRUCTS', 10_000, 100, 1_000_000),
    maxDevicesPerIdentity: int(env, 'MAX_DEVICES_PER_IDENTITY', 20, 1, 1000),
    genesisWindowMs: int(env, 'GENESIS_WINDOW_MS', 10_000, 100, 600_000),
    storageProbeMs: int(env, 'STORAGE_PROBE_MS', 1000, 10, 600_000),
    retentionSweepMs: int(env, 'RETENTION_SWEEP_MS', 3_600_000, 1000, 86_400_000),
  };
}

function identifier(value: string, name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value))
    throw new Error(`${name} must be a lower-case SQL identifier`);
  return value;
}

function int(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer in [${min}, ${max}], not ${JSON.stringify(raw)}`);
  }
  return value;
}
