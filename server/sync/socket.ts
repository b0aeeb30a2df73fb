/**
 * @module One WebSocket on /sync/:room, from upgrade to close: heartbeat, the queue of frames
 * that arrive before the room is ready (bounded), decoding, and turning every failure into a
 * close code from the error table.
 */
import type { WSContext, WSEvents } from 'hono/ws';
import type { WebSocket } from 'ws';
import { ConvosyncError, closeReason } from '../../shared/errors.js';
import type { DocName } from '../../shared/keys.js';
import { readMessage } from '../../shared/protocol/sync.js';
import type { Identity } from '../auth/identity.js';
import type { Logger } from '../log.js';
import type { PresenceRegistry } from '../presence.js';
import type { Peer, Room } from './room.js';
import type { Rooms } from './rooms.js';

export interface SocketDeps {
  rooms: Rooms;
  log: Logger;
  heartbeatMs: number;
  /** Frames accepted before the room is ready (loading, genesis); more closes with 4429. */
  maxPendingFrames: number;
  /** Unsent bytes a slow reader may accumulate before it is dropped. */
  maxBufferedBytes: number;
  /** Counts this socket for its identity's online status while it is joined to its room. */
  presence?: PresenceRegistry;
}

export function syncSocket(
  deps: SocketDeps,
  key: DocName,
  identity: Identity,
  acks = false,
): WSEvents<WebSocket> {
  const log = deps.log.child({ room: key, identity: identity.id });
  let ws: WSContext<WebSocket> | undefined;
  let room: Room | undefined;
  let pending: Uint8Array[] | undefined = [];
  let closed = false;
  let alive = true;
  let heartbeat: NodeJS.Timeout | undefined;

  const close = (error: ConvosyncError) => {
    if (closed) return;
    closed = true;
    if (error.code === 'INTERNAL') log.error('closing socket after internal error', { error });
    else log.info('closing socket', { code: error.code, reason: error.message });
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
      if (raw.bufferedAmount > deps.maxBufferedBytes) {
        log.warn('dropping slow reader', { buffered: raw.bufferedAmount });
        closed = true;
        raw.terminate();
        return;
      }
      raw.send(frame);
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
    room.receive(peer, message).catch(fail);
  };

  return {
    onOpen(_event, context) {
      ws = context;
      const raw = context.raw;
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
          if (closed) return;
          await opened.join(peer);
          if (closed) {
            // The socket went away while the room was joining it.
            opened.leave(peer);
            deps.rooms.released(opened);
            return;
          }
          room = opened;
          deps.presence?.connected(identity.id);
          const queued = pending ?? [];
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
        if (pending.length >= deps.maxPendingFrames) fail(new ConvosyncError('TOO_MANY_PENDING'));
        else pending.push(frame);
        return;
      }
      handle(frame);
    },
    onClose() {
      closed = true;
      clearInterval(heartbeat);
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
