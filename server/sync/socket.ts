/**
 * @module One WebSocket on /sync/:room, from upgrade to close: heartbeat, the queue of frames
 * that arrive before the room is ready (bounded), decoding, and turning every failure into a
 * close code from the error table. Also the socket's limits: its identity's socket quota, its
 * share of the outbound budget, its token's expiry, and a group's creation window.
 */
import type { Socket } from 'node:net';
import type { WSContext, WSEvents } from 'hono/ws';
import type { WebSocket } from 'ws';
import { hasGenesis } from '../../shared/conversation.js';
import { ConversationType } from '../../shared/enums.js';
import { ConvosyncError, closeReason } from '../../shared/errors.js';
import type { DocName } from '../../shared/keys.js';
import { readMessage } from '../../shared/protocol/sync.js';
import type { Identity } from '../auth/identity.js';
import type { Logger } from '../log.js';
import type { PresenceRegistry } from '../presence.js';
import { corkForTick, uncorkNow } from './cork.js';
import type { LogBudget } from './log-budget.js';
import type { Outbound, OutboundHandle } from './outbound.js';
import { PendingFrames } from './pending-frames.js';
import type { Peer, Room } from './room.js';
import type { SocketQuota } from './socket-quota.js';

/**
 * What a socket joins: a Room, or in cluster mode a RemoteRoom that relays the socket's frames
 * (`frame`, as received) to the node owning the conversation (server/cluster/relay.ts). Only a
 * local room has a `doc`.
 */
export interface SyncRoom {
  readonly parsed: Room['parsed'];
  readonly doc?: Room['doc'];
  join(peer: Peer): Promise<void>;
  leave(peer: Peer): void;
  receive(peer: Peer, message: Parameters<Room['receive']>[1], frame: Uint8Array): Promise<void>;
}

/** Where a socket's room comes from: the Rooms registry, or cluster mode's router. */
export interface SyncRooms {
  open(key: DocName, identity: Identity): Promise<SyncRoom>;
  /** Called when the socket no longer uses `room` (idle rooms unload). */
  released(room: SyncRoom): void;
}

export interface SocketDeps {
  rooms: SyncRooms;
  log: Logger;
  heartbeatMs: number;
  /** Bytes of frames accepted before the room is ready (loading, genesis); more closes with 4429. */
  maxPendingBytes: number;
  /** Unwritten outbound bytes, per socket and in total (slow readers are dropped). */
  outbound: Outbound;
  /** Open sockets per identity. */
  quota: SocketQuota;
  /** Log lines for closes a client can cause at will, per error code. */
  closeLog: LogBudget;
  /** A group with no genesis this long after a socket joined it is closed as not found. */
  genesisWindowMs: number;
  /** Counts this socket for its identity's online status while it is joined to its room. */
  presence?: PresenceRegistry;
}

/** setTimeout's ceiling (about 24.8 days); a later expiry is checked again when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function syncSocket(
  deps: SocketDeps,
  key: DocName,
  identity: Identity,
  acks = false,
  /** The token's `exp` in ms since the epoch, if it has one. */
  expiresAt?: number,
): WSEvents<WebSocket> {
  const log = deps.log.child({ room: key, identity: identity.id });
  let ws: WSContext<WebSocket> | undefined;
  let room: SyncRoom | undefined;
  let pending: PendingFrames | undefined = new PendingFrames(deps.maxPendingBytes);
  let closed = false;
  let alive = true;
  let heartbeat: NodeJS.Timeout | undefined;
  let expiry: NodeJS.Timeout | undefined;
  let creation: NodeJS.Timeout | undefined;
  let outbound: OutboundHandle | undefined;
  let counted = false;

  /** The TCP socket under the WebSocket (frames to it are corked per tick, cork.ts). */
  const tcp = () => (ws?.raw as unknown as { _socket?: Socket } | undefined)?._socket;

  const close = (error: ConvosyncError) => {
    if (closed) return;
    closed = true;
    const budget = deps.closeLog.take(error.code);
    if (budget.ok) {
      const fields = {
        code: error.code,
        reason: error.message,
        ...(budget.skipped > 0 ? { skippedLines: budget.skipped } : {}),
      };
      if (error.code === 'INTERNAL')
        log.error('closing socket after internal error', { ...fields, error });
      else log.info('closing socket', fields);
    }
    // The frames corked this tick go first, and the close frame is not held back behind them.
    uncorkNow(tcp());
    ws?.close(error.closeCode, closeReason(error));
  };

  const fail = (error: unknown) => {
    close(
      error instanceof ConvosyncError
        ? error
        : new ConvosyncError('INTERNAL', undefined, { cause: error }),
    );
  };

  const peer: Peer = {
    identity,
    acks,
    send(frame) {
      const raw = ws?.raw;
      if (closed || !raw || raw.readyState !== raw.OPEN) return;
      outbound?.send(frame);
    },
    flush() {
      uncorkNow(tcp());
    },
    close,
  };

  const handle = (frame: Uint8Array) => {
    if (!room) return;
    let message: ReturnType<typeof readMessage>;
    try {
      message = readMessage(frame);
    } catch (error) {
      fail(error);
      return;
    }
    room.receive(peer, message, frame).catch(fail);
  };

  const armExpiry = () => {
    if (expiresAt === undefined) return;
    const left = expiresAt - Date.now();
    if (left <= 0) {
      fail(new ConvosyncError('TOKEN_EXPIRED'));
      return;
    }
    expiry = setTimeout(armExpiry, Math.min(left, MAX_TIMER_MS));
    expiry.unref();
  };

  /** A group nobody creates is not kept loaded (see Rooms.released). */
  const armCreationWindow = ({ parsed, doc }: SyncRoom) => {
    // A relayed socket's window is kept by the owner, which holds the document.
    if (!doc || parsed.type !== ConversationType.Group || hasGenesis(doc)) return;
    creation = setTimeout(() => {
      if (!closed && !hasGenesis(doc))
        fail(new ConvosyncError('CONVERSATION_NOT_FOUND', `${key} was not created in time`));
    }, deps.genesisWindowMs);
    creation.unref();
  };

  return {
    onOpen(_event, context) {
      ws = context;
      const raw = context.raw;
      if (!deps.quota.take(identity.id)) {
        fail(new ConvosyncError('TOO_MANY_CONNECTIONS'));
        return;
      }
      counted = true;
      if (raw) {
        outbound = deps.outbound.open({
          send: (frame, written) => {
            // `ws` keeps its net.Socket in `_socket`; corking it batches this tick's frames.
            corkForTick((raw as unknown as { _socket?: Socket })._socket);
            raw.send(frame, written);
          },
          drop: (why, queued) => {
            if (closed) return;
            closed = true;
            const budget = deps.closeLog.take('SLOW_READER');
            if (budget.ok)
              log.warn('dropping slow reader', { why, queued, skippedLines: budget.skipped });
            // Not a close frame: it would queue behind the very bytes the reader is not reading.
            raw.terminate();
          },
        });
      }
      armExpiry();
      raw?.on('pong', () => {
        alive = true;
      });
      heartbeat = setInterval(() => {
        if (!alive) {
          log.info('heartbeat missed, dropping socket');
          closed = true;
          raw?.terminate();
          return;
        }
        alive = false;
        raw?.ping();
      }, deps.heartbeatMs);
      deps.rooms
        .open(key, identity)
        .then(async (opened) => {
          if (closed) {
            deps.rooms.released(opened);
            return;
          }
          try {
            await opened.join(peer);
          } catch (error) {
            // Refused (not a member, no such conversation): the room must not stay loaded for it.
            deps.rooms.released(opened);
            throw error;
          }
          if (closed) {
            // The socket went away while the room was joining it.
            opened.leave(peer);
            deps.rooms.released(opened);
            return;
          }
          room = opened;
          deps.presence?.connected(identity.id);
          armCreationWindow(opened);
          const queued = pending?.frames ?? [];
          pending = undefined;
          for (const frame of queued) handle(frame);
        })
        .catch(fail);
    },
    onMessage(event) {
      if (closed) return;
      const data = event.data;
      if (!(data instanceof ArrayBuffer)) {
        fail(new ConvosyncError('MALFORMED_MESSAGE', 'text frames are not part of the protocol'));
        return;
      }
      const frame = new Uint8Array(data);
      if (pending) {
        if (!pending.push(frame)) fail(new ConvosyncError('TOO_MANY_PENDING'));
        return;
      }
      handle(frame);
    },
    onClose() {
      closed = true;
      clearInterval(heartbeat);
      clearTimeout(expiry);
      clearTimeout(creation);
      outbound?.release();
      if (counted) deps.quota.release(identity.id);
      counted = false;
      if (room) {
        room.leave(peer);
        deps.rooms.released(room);
        deps.presence?.disconnected(identity.id);
      }
    },
    onError(event) {
      log.warn('socket error', { error: (event as ErrorEvent).error });
    },
  };
}
