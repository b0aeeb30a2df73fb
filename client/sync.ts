/**
 * @module The connection of one conversation document: a stock y-websocket WebsocketProvider
 * plus convosync's additions, i.e. the rejection message (type 100) and close codes mapped back to
 * error codes.
 */
import * as decoding from 'lib0/decoding';
import type * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { ConvosyncError, codeFromCloseReason, ERRORS, type ErrorCode } from '../shared/errors.js';
import { MessageType, readStates } from '../shared/protocol/sync.js';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface Rejection {
  code: string;
  clientId: number;
  clock: number;
}

export interface SyncOptions {
  /** ws(s)://host:port/sync */
  serverUrl: string;
  room: string;
  doc: Y.Doc;
  token: string;
  connect: boolean;
  WebSocket?: typeof globalThis.WebSocket;
  maxBackoffMs: number;
  onStatus(status: ConnectionStatus): void;
  onSynced(): void;
  /** The server closed for good (44xx): the error, and the rejection message if one came first. */
  onClosed(error: ConvosyncError, rejection: Rejection | undefined): void;
  /** The server holds each listed client's structs below the given clock. */
  onAccepted(states: Array<[number, number]>): void;
}

export function connect(options: SyncOptions): WebsocketProvider {
  allowExitListener(+1);
  const provider = new WebsocketProvider(options.serverUrl, options.room, options.doc, {
    connect: options.connect,
    // acks=1 asks for `accepted` messages, which confirm intents that have no stamp.
    params: { token: options.token, acks: '1' },
    // Another tab's rejected structs must not poison this one (findings §6): tabs sync through
    // the server only.
    disableBc: true,
    maxBackoffTime: options.maxBackoffMs,
    // 1009 (frame too big) too: sending the same update again would be refused again.
    shouldReconnect: (event) => !(event.code >= 4400 && event.code < 4500) && event.code !== 1009,
    ...(options.WebSocket ? { WebSocketPolyfill: options.WebSocket } : {}),
  });
  const destroy = provider.destroy.bind(provider);
  provider.destroy = () => {
    destroy();
    allowExitListener(-1);
  };
  sendOwnAwarenessOnly(provider);
  followClientId(provider);
  let rejection: Rejection | undefined;
  provider.messageHandlers[MessageType.Rejected] = (
    _encoder: encoding.Encoder,
    decoder: decoding.Decoder,
  ) => {
    rejection = {
      code: decoding.readVarString(decoder),
      clientId: decoding.readVarUint(decoder),
      clock: decoding.readVarUint(decoder),
    };
  };
  // The server's sync step 1 carries its state vector: everything below it is durable there, an
  // ack for writes whose own `accepted` was lost with a dropped connection.
  const sync = provider.messageHandlers[MessageType.Sync]!;
  provider.messageHandlers[MessageType.Sync] = (encoder, decoder, ...rest) => {
    const peek = decoding.createDecoder(decoder.arr.subarray(decoder.pos));
    if (decoding.readVarUint(peek) === 0)
      options.onAccepted([...Y.decodeStateVector(decoding.readVarUint8Array(peek))]);
    sync(encoder, decoder, ...rest);
  };
  provider.messageHandlers[MessageType.Accepted] = (
    _encoder: encoding.Encoder,
    decoder: decoding.Decoder,
  ) => {
    options.onAccepted(readStates(decoder));
  };
  provider.on('status', ({ status }) => options.onStatus(status));
  provider.on('sync', (synced: boolean) => {
    if (synced) options.onSynced();
  });
  provider.on('closed', ({ code, reason }) => {
    options.onStatus('closed');
    options.onClosed(errorFromClose(code, reason), rejection);
    rejection = undefined;
  });
  return provider;
}

/**
 * The stock provider sends every awareness change it hears back to the server (its handler
 * ignores the origin): with n peers, each broadcast comes back n times. The server drops those
 * echoes; not sending them halves the awareness traffic. Only this device's own state goes out.
 */
function sendOwnAwarenessOnly(provider: WebsocketProvider): void {
  const relay = provider._awarenessUpdateHandler;
  type Changes = { added: number[]; updated: number[]; removed: number[] };
  const changes = ({ added, updated, removed }: Changes, origin: unknown) => {
    // Read each time: followClientId may move this device to a new clientID.
    const own = provider.awareness.clientID;
    if ([...added, ...updated, ...removed].includes(own))
      relay({ added: [], updated: [own], removed: [] }, origin);
  };
  provider.awareness.off('update', relay);
  provider.awareness.on('update', changes);
  // destroy() unsubscribes this field.
  provider._awarenessUpdateHandler = changes;
}

/**
 * Keeps the awareness on the document's clientID. Yjs gives a document a new clientID when a
 * remote update carries structs under its current one (another client took it), but the
 * awareness keeps the old one, and y-websocket encodes `doc.clientID`'s awareness on every
 * connect and disconnect: with no entry for the new clientID, y-protocols throws a TypeError
 * (`meta.get(clientID).clock`) out of `disconnect()` and the socket's `onopen`, which crashed
 * the app on goOffline()/goOnline(). This moves this device's state to the new clientID at once.
 */
function followClientId(provider: WebsocketProvider): void {
  const { doc, awareness } = provider;
  const follow = () => {
    if (doc.clientID === awareness.clientID) return;
    const previous = awareness.clientID;
    const state = awareness.getLocalState();
    awareness.clientID = doc.clientID;
    awarenessProtocol.removeAwarenessStates(awareness, [previous], 'clientID changed');
    awareness.setLocalState(state);
  };
  // Lives as long as the document (the conversation destroys it with its provider).
  doc.on('afterTransactionCleanup', follow);
}

/** The error a close frame stands for: its reason's code, or the table's code for its number. */
export function errorFromClose(code: number, reason: string): ConvosyncError {
  const fromReason = codeFromCloseReason(reason);
  if (fromReason)
    return new ConvosyncError(fromReason, reason.slice(fromReason.length + 2) || undefined);
  if (code === 1009) return new ConvosyncError('UPDATE_TOO_LARGE', reason || 'frame too big');
  const byNumber = (Object.keys(ERRORS) as ErrorCode[]).find((c) => ERRORS[c].close === code);
  return new ConvosyncError(byNumber ?? 'INTERNAL', reason || `closed with ${code}`);
}

/**
 * In Node, every WebsocketProvider adds a `process.on('exit')` listener (it clears its awareness
 * state) and removes it on destroy: a desktop or bot client with more than ten open
 * conversations is not a leak, so each provider raises the warning threshold by one while open.
 */
function allowExitListener(delta: 1 | -1): void {
  if (typeof process === 'undefined' || typeof process.setMaxListeners !== 'function') return;
  const max = process.getMaxListeners();
  if (max === 0) return; // unlimited
  process.setMaxListeners(Math.max(10, max + delta));
}
