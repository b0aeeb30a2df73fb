/**
 * @module The server transactions REST asks of a conversation by name (`BorrowedRoom.apply`),
 * each with plain arguments: a closure cannot travel to another node, a name and its arguments
 * can, so in cluster mode the owner runs the very same function (server/cluster/relay.ts). Each
 * returns false when it had nothing to write, and may throw a ConvosyncError (the REST answer).
 */
import type * as Y from 'yjs';
import { ConversationStatus } from '../../shared/enums.js';
import { ConvosyncError } from '../../shared/errors.js';
import { type CardState, conversationRoots } from '../../shared/schema.js';

export const SERVER_WRITES = {
  /** A card message's business object changed (an order shipped): its state, shown in place. */
  card(doc: Y.Doc, args: { key: string; state: CardState }): boolean {
    conversationRoots(doc).cards.set(args.key, args.state);
    return true;
  },
  /** The conversation's own status (staff): archived (read-only) or normal again. */
  status(doc: Y.Doc, args: { status: ConversationStatus }): boolean {
    const meta = doc.getMap('meta');
    if (!meta.has('conversationId')) throw new ConvosyncError('CONVERSATION_NOT_FOUND');
    const current = meta.get('status');
    if (current === ConversationStatus.Dissolved)
      throw new ConvosyncError('CONVERSATION_DISSOLVED');
    if (current === args.status) return false;
    meta.set('status', args.status);
    return true;
  },
} as const;

export type ServerWriteName = keyof typeof SERVER_WRITES;
export type ServerWriteArgs<N extends ServerWriteName> = Parameters<(typeof SERVER_WRITES)[N]>[1];

export function isServerWriteName(name: string): name is ServerWriteName {
  return Object.hasOwn(SERVER_WRITES, name);
}

/** The change `apply(name, args)` makes, as the closure `Room.serverWrite` takes. */
export function serverWrite<N extends ServerWriteName>(
  name: N,
  args: ServerWriteArgs<N>,
): (doc: Y.Doc) => boolean {
  const write = SERVER_WRITES[name] as (doc: Y.Doc, args: ServerWriteArgs<N>) => boolean;
  return (doc) => write(doc, args);
}
