/**
 * @module Who may upload into and download from a conversation, asked of its document: the same
 * rules (shared/rules/access.ts) the sync path runs, so a file is exactly as private as the
 * messages of the conversation it was sent in.
 */
import type { ErrorCode } from '../../shared/errors.js';
import { type ConversationKey, parseKey } from '../../shared/keys.js';
import { canRead, postRefusal } from '../../shared/rules/access.js';
import type { Identity } from '../auth/identity.js';
import type { ServerRooms } from '../sync/rooms.js';

export interface ConversationAccess {
  /** Why `identity` may not post into `key` now (so not upload either), or undefined. */
  postRefusal(key: ConversationKey, identity: Identity): Promise<ErrorCode | undefined>;
  canRead(key: ConversationKey, identity: Identity): Promise<boolean>;
}

export function roomAccess(rooms: ServerRooms): ConversationAccess {
  return {
    async postRefusal(key, identity) {
      // use(), not borrow(): like a REST send, the first upload into a private chat nobody
      // has opened yet creates it (when `identity` is one of its two members).
      return rooms.use(key, identity, (room) =>
        room.read((doc) => postRefusal(doc, parseKey(key), identity)),
      );
    },
    async canRead(key, identity) {
      const room = await rooms.borrow(key);
      try {
        return await room.read((doc) => canRead(doc, parseKey(key), identity));
      } finally {
        room.release();
      }
    },
  };
}
