/**
 * @module The user actions the SDK records as intents: an action (shared/actions.ts) plus a
 * client-made id and time. An intent stores the operation, not the resulting values: its writes
 * are computed when it is applied, so a replay after a reset acts on the server's current state
 * (a removal keeps the member's current role, a recall the message's metadata).
 */
import type { Action } from '../shared/actions.js';
import type { MessageKey } from '../shared/ids.js';

export {
  actionApplied as intentApplied,
  actionWrites as intentWrites,
  genesisWrites,
} from '../shared/actions.js';

export type Intent = Action & {
  /** Client-made id (32 hex), unique per intent. For `send` it is the message key. */
  id: MessageKey;
  createdAt: number;
};
