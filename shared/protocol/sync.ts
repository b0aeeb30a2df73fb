/**
 * @module The y-websocket wire protocol, as codecs only (no sockets, no rooms, no apply).
 *
 * Every WebSocket binary frame is one message:
 *   varUint messageType, then
 *   0 sync:            varUint syncType, varUint8Array payload
 *                      syncType 0 step 1 (payload: state vector)
 *                               1 step 2 (payload: update the receiver lacks)
 *                               2 update (payload: update)
 *   1 awareness:       varUint8Array awareness update (y-protocols/awareness)
 *   2 auth:            varUint 0 (permission denied), varString reason
 *   3 query-awareness: (empty) - asks the receiver to send all awareness states
 *   100 rejected:      varString error code, varUint clientID, varUint first rejected clock
 *                      (convosync; sent before a 4409 close, ignored by stock clients)
 *   101 accepted:      varUint n, then n x (varUint clientID, varUint clock): the server holds
 *                      that client's structs below that clock (convosync; sent only to sockets
 *                      that asked with `?acks=1`, because stock clients log unknown types)
 * A message does not name its document: one socket carries one room, named by the URL path.
 *
 * Unlike y-protocols' `readSyncMessage`, `readMessage` never applies anything: it returns the
 * decoded message and the room decides (DESIGN.md "The filter").
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { ConvosyncError } from '../errors.js';

export const MessageType = {
  Sync: 0,
  Awareness: 1,
  Auth: 2,
  QueryAwareness: 3,
  Rejected: 100,
  Accepted: 101,
} as const;

export const SyncType = { Step1: 0, Step2: 1, Update: 2 } as const;

export type IncomingMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'query-awareness' }
  | { type: 'auth'; reason: string }
  | { type: 'rejected'; code: string; clientId: number; clock: number }
  | { type: 'accepted'; states: Array<[clientId: number, clock: number]> };

/** Decodes one frame, or throws MALFORMED_MESSAGE (never a lib0 error). */
export function readMessage(frame: Uint8Array): IncomingMessage {
  try {
    const decoder = decoding.createDecoder(frame);
    const message = readBody(decoder);
    if (decoding.hasContent(decoder)) throw new Error('trailing bytes');
    return message;
  } catch (error) {
    if (error instanceof ConvosyncError) throw error;
    throw new ConvosyncError('MALFORMED_MESSAGE', `malformed frame: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function readBody(decoder: decoding.Decoder): IncomingMessage {
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case MessageType.Sync: {
      const syncType = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      if (syncType === SyncType.Step1) {
        checkStateVector(payload);
        return { type: 'sync-step1', stateVector: payload };
      }
      if (syncType === SyncType.Step2) return { type: 'sync-step2', update: payload };
      if (syncType === SyncType.Update) return { type: 'update', update: payload };
      throw new ConvosyncError('MALFORMED_MESSAGE', `unknown sync message type ${syncType}`);
    }
    case MessageType.Awareness:
      return { type: 'awareness', update: decoding.readVarUint8Array(decoder) };
    case MessageType.QueryAwareness:
      return { type: 'query-awareness' };
    case MessageType.Auth:
      decoding.readVarUint(decoder);
      return { type: 'auth', reason: decoding.readVarString(decoder) };
    case MessageType.Rejected:
      return {
        type: 'rejected',
        code: decoding.readVarString(decoder),
        clientId: decoding.readVarUint(decoder),
        clock: decoding.readVarUint(decoder),
      };
    case MessageType.Accepted:
      return { type: 'accepted', states: readStates(decoder) };
    default:
      throw new ConvosyncError('MALFORMED_MESSAGE', `unknown message type ${type}`);
  }
}

/**
 * A state vector must decode completely before anything encodes against it: `Y.encodeStateAsUpdate`
 * throws deep inside Yjs on a truncated one (`00 00 01 05`) or a varint past 53 bits, which
 * would otherwise surface as an internal error instead of the client's malformed frame.
 */
function checkStateVector(stateVector: Uint8Array): void {
  const decoder = decoding.createDecoder(stateVector);
  const count = decoding.readVarUint(decoder);
  if (count > stateVector.length) throw new Error(`state vector claims ${count} clients`);
  for (let i = 0; i < count; i++) {
    decoding.readVarUint(decoder);
    decoding.readVarUint(decoder);
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes in the state vector');
}

export function readStates(decoder: decoding.Decoder): Array<[number, number]> {
  const count = decoding.readVarUint(decoder);
  if (count > 10_000) throw new Error('too many states');
  const states: Array<[number, number]> = [];
  for (let i = 0; i < count; i++)
    states.push([decoding.readVarUint(decoder), decoding.readVarUint(decoder)]);
  return states;
}

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

export function writeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Sync);
    encoding.writeVarUint(e, SyncType.Step1);
    encoding.writeVarUint8Array(e, stateVector);
  });
}

export function writeSyncStep2(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Sync);
    encoding.writeVarUint(e, SyncType.Step2);
    encoding.writeVarUint8Array(e, update);
  });
}

export function writeUpdate(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Sync);
    encoding.writeVarUint(e, SyncType.Update);
    encoding.writeVarUint8Array(e, update);
  });
}

export function writeAwareness(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Awareness);
    encoding.writeVarUint8Array(e, update);
  });
}

export function writeQueryAwareness(): Uint8Array {
  return frame((e) => encoding.writeVarUint(e, MessageType.QueryAwareness));
}

export function writeRejected(code: string, clientId: number, clock: number): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Rejected);
    encoding.writeVarString(e, code);
    encoding.writeVarUint(e, clientId);
    encoding.writeVarUint(e, clock);
  });
}

export function writeAccepted(states: ReadonlyArray<readonly [number, number]>): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Accepted);
    encoding.writeVarUint(e, states.length);
    for (const [clientId, clock] of states) {
      encoding.writeVarUint(e, clientId);
      encoding.writeVarUint(e, clock);
    }
  });
}
