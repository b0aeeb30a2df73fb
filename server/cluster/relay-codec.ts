/**
 * @module The binary form of one relay entry (relay.ts): what a node sends another through the
 * receiver's stream in one XADD, all the messages of one tick for that node. lib0 encoding, like
 * the sync protocol.
 *
 * Edge → owner: `join`, `frame` (a socket's frame, as received), `leave`; `call` (a server
 * write, `Room.submit` of REST and notices, by a node that does not own the room) and `apply`
 * (a named server transaction, ../sync/server-writes.ts).
 * Owner → edge: `send` (a frame for a relayed socket) and `close` (its close code's error);
 * `moved` (the node asked no longer owns the room: join `owner` instead); `reply` (a call's
 * stamps, or its error's code and message).
 * A frame sent to several sockets of one node in one tick (a broadcast) is carried once: the
 * entry starts with a table of frames that `send` messages point into.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { type ErrorCode, isErrorCode } from '../../shared/errors.js';
import type { IdentityId } from '../../shared/ids.js';
import type { Write } from '../../shared/rules/context.js';
import type { Stamp } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';

export type RelayMessage =
  | { t: 'join'; peer: number; room: string; identity: Identity; acks: boolean }
  | { t: 'frame'; peer: number; frame: Uint8Array }
  | { t: 'leave'; peer: number }
  | { t: 'send'; peer: number; frame: Uint8Array }
  | { t: 'close'; peer: number; code: ErrorCode; message: string }
  /** The join reached a node that had let the room go; `owner` holds it now (relay.ts). */
  | { t: 'moved'; peer: number; owner: string }
  /**
   * `peer`: the call's id at its sender. `writes` go to `Room.submit` as they are (none: only
   * open the room, e.g. a private chat's genesis). The owner starts no call older than
   * `budgetMs` after `sentAt` (the sender's clock): past it the sender may have given up.
   */
  | {
      t: 'call';
      peer: number;
      room: string;
      identity: Identity;
      writes: Write[];
      sentAt: number;
      budgetMs: number;
    }
  /** A named server transaction (../sync/server-writes.ts) on the owner, like `call`. */
  | {
      t: 'apply';
      peer: number;
      room: string;
      name: string;
      args: unknown;
      sentAt: number;
      budgetMs: number;
    }
  | { t: 'reply'; peer: number; stamps: Stamp[] }
  | { t: 'reply'; peer: number; code: ErrorCode; message: string };

const KIND = {
  join: 1,
  frame: 2,
  leave: 3,
  send: 4,
  close: 5,
  call: 6,
  reply: 7,
  apply: 8,
  moved: 9,
} as const;

export interface RelayEntry {
  /** The sending node's lease id (where answers go). */
  from: string;
  /**
   * 1, 2, 3... per sender and receiver: a receiver that sees one skipped knows entries were lost
   * (trimmed, wiped) and resets the sockets relayed between the two (relay.ts). 0: no count
   * (a node's own entry creating its stream).
   */
  seq: number;
  messages: RelayMessage[];
}

export function encodeEntry(entry: RelayEntry): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, entry.from);
  encoding.writeVarUint(e, entry.seq);
  // Frames carried by `send`, each once (a broadcast is one object for all its sockets).
  const frames = new Map<Uint8Array, number>();
  for (const m of entry.messages)
    if (m.t === 'send' && !frames.has(m.frame)) frames.set(m.frame, frames.size);
  encoding.writeVarUint(e, frames.size);
  for (const frame of frames.keys()) encoding.writeVarUint8Array(e, frame);
  encoding.writeVarUint(e, entry.messages.length);
  for (const m of entry.messages) {
    encoding.writeVarUint(e, KIND[m.t]);
    encoding.writeVarUint(e, m.peer);
    switch (m.t) {
      case 'join':
        encoding.writeVarString(e, m.room);
        writeIdentity(e, m.identity);
        encoding.writeUint8(e, m.acks ? 1 : 0);
        break;
      case 'call':
        encoding.writeVarString(e, m.room);
        writeIdentity(e, m.identity);
        // Values as Y.Map stores them (lib0's `any`: JSON plus undefined and bytes).
        encoding.writeAny(e, m.writes as unknown as encoding.AnyEncodable);
        encoding.writeFloat64(e, m.sentAt);
        encoding.writeVarUint(e, m.budgetMs);
        break;
      case 'apply':
        encoding.writeVarString(e, m.room);
        encoding.writeVarString(e, m.name);
        encoding.writeAny(e, m.args as encoding.AnyEncodable);
        encoding.writeFloat64(e, m.sentAt);
        encoding.writeVarUint(e, m.budgetMs);
        break;
      case 'reply':
        if ('stamps' in m) {
          encoding.writeUint8(e, 1);
          encoding.writeAny(e, m.stamps as unknown as encoding.AnyEncodable);
        } else {
          encoding.writeUint8(e, 0);
          encoding.writeVarString(e, m.code);
          encoding.writeVarString(e, m.message);
        }
        break;
      case 'frame':
        encoding.writeVarUint8Array(e, m.frame);
        break;
      case 'send':
        encoding.writeVarUint(e, frames.get(m.frame)!);
        break;
      case 'close':
        encoding.writeVarString(e, m.code);
        encoding.writeVarString(e, m.message);
        break;
      case 'moved':
        encoding.writeVarString(e, m.owner);
        break;
      case 'leave':
        break;
    }
  }
  return encoding.toUint8Array(e);
}

export function decodeEntry(bytes: Uint8Array): RelayEntry {
  const d = decoding.createDecoder(bytes);
  const from = decoding.readVarString(d);
  const seq = decoding.readVarUint(d);
  const frames: Uint8Array[] = [];
  for (let n = decoding.readVarUint(d); n > 0; n--) frames.push(decoding.readVarUint8Array(d));
  const messages: RelayMessage[] = [];
  for (let n = decoding.readVarUint(d); n > 0; n--) {
    const kind = decoding.readVarUint(d);
    const peer = decoding.readVarUint(d);
    switch (kind) {
      case KIND.join: {
        const room = decoding.readVarString(d);
        const identity = readIdentity(d);
        const acks = decoding.readUint8(d) === 1;
        messages.push({ t: 'join', peer, room, identity, acks });
        break;
      }
      case KIND.call: {
        const room = decoding.readVarString(d);
        const identity = readIdentity(d);
        const writes = decoding.readAny(d) as unknown as Write[];
        const sentAt = decoding.readFloat64(d);
        const budgetMs = decoding.readVarUint(d);
        messages.push({ t: 'call', peer, room, identity, writes, sentAt, budgetMs });
        break;
      }
      case KIND.apply: {
        const room = decoding.readVarString(d);
        const name = decoding.readVarString(d);
        const args: unknown = decoding.readAny(d);
        const sentAt = decoding.readFloat64(d);
        const budgetMs = decoding.readVarUint(d);
        messages.push({ t: 'apply', peer, room, name, args, sentAt, budgetMs });
        break;
      }
      case KIND.reply: {
        if (decoding.readUint8(d) === 1) {
          messages.push({ t: 'reply', peer, stamps: decoding.readAny(d) as unknown as Stamp[] });
        } else {
          const code = decoding.readVarString(d);
          const message = decoding.readVarString(d);
          messages.push({ t: 'reply', peer, code: isErrorCode(code) ? code : 'INTERNAL', message });
        }
        break;
      }
      case KIND.frame:
        messages.push({ t: 'frame', peer, frame: decoding.readVarUint8Array(d) });
        break;
      case KIND.leave:
        messages.push({ t: 'leave', peer });
        break;
      case KIND.moved:
        messages.push({ t: 'moved', peer, owner: decoding.readVarString(d) });
        break;
      case KIND.send: {
        const frame = frames[decoding.readVarUint(d)];
        if (!frame) throw new Error('relay entry points at a frame it does not carry');
        messages.push({ t: 'send', peer, frame });
        break;
      }
      case KIND.close: {
        const code = decoding.readVarString(d);
        const message = decoding.readVarString(d);
        messages.push({ t: 'close', peer, code: isErrorCode(code) ? code : 'INTERNAL', message });
        break;
      }
      default:
        throw new Error(`unknown relay message kind ${kind}`);
    }
  }
  return { from, seq, messages };
}

function writeIdentity(e: encoding.Encoder, identity: Identity): void {
  encoding.writeVarString(e, identity.id);
  encoding.writeVarInt(e, identity.type);
  encoding.writeVarString(e, identity.role ?? '');
}

function readIdentity(d: decoding.Decoder): Identity {
  const id = decoding.readVarString(d) as IdentityId;
  const type = decoding.readVarInt(d);
  const role = decoding.readVarString(d);
  return role ? { id, type, role: role as NonNullable<Identity['role']> } : { id, type };
}
