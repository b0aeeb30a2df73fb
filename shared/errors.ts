/**
 * @module The one table of error codes. Each code has an HTTP status (REST envelope) and a
 * WebSocket close code (sync protocol); both sides import this file, so a client can map a
 * close code back to the code that caused it.
 *
 * Close codes follow the convention y-websocket >= 3 relies on (`defaultShouldReconnect`):
 * 4400–4499 mirror HTTP 4xx and mean "reconnecting cannot fix this", so the stock provider
 * stops; 4500–4599 mirror 5xx and mean "try again later", so it reconnects with backoff.
 * 1009 is the WebSocket standard's "message too big", sent by `ws` itself for oversized frames.
 */

export const ERRORS = {
  BAD_REQUEST: { status: 400, close: 4400, message: 'bad request' },
  MALFORMED_MESSAGE: { status: 400, close: 4400, message: 'malformed sync message' },
  INVALID_IDENTITY: { status: 400, close: 4400, message: 'invalid identity id' },
  INVALID_KEY: { status: 400, close: 4400, message: 'invalid conversation key' },
  UNAUTHORIZED: { status: 401, close: 4401, message: 'missing or invalid token' },
  // The token's `exp` passed while its socket was open; the SDK gets a new one (getToken).
  TOKEN_EXPIRED: {
    status: 401,
    close: 4401,
    message: 'the token expired, reconnect with a new one',
  },
  NOT_MEMBER: { status: 403, close: 4403, message: 'not an active member of this conversation' },
  FORBIDDEN_SERVICE_ONLY: {
    status: 403,
    close: 4403,
    message: 'only backend services (role "service") may do this',
  },
  FORBIDDEN_STAFF_ONLY: {
    status: 403,
    close: 4403,
    message: 'only platform admins (role "admin") and backend services may do this',
  },
  NOT_FOUND: { status: 404, close: 4404, message: 'not found' },
  CONVERSATION_NOT_FOUND: { status: 404, close: 4404, message: 'conversation does not exist' },
  // The spec's group management flow (seed §11): "成员不存在" and, for an invite, "已是成员".
  MEMBER_NOT_FOUND: { status: 404, close: 4409, message: 'member does not exist' },
  ALREADY_MEMBER: { status: 409, close: 4409, message: 'already a member' },
  /** A request body over the REST limit (server/http/app.ts). */
  BODY_TOO_LARGE: { status: 413, close: 4413, message: 'request body too large' },
  // Rule violations. Over the sync protocol every one of them is a rejection message followed
  // by a 4409 close (the SDK then resets and replays); over REST they are 4xx responses.
  MISSING_DEPENDENCIES: {
    status: 409,
    close: 4409,
    message: 'update depends on changes the server does not have',
  },
  CLIENT_ID_TAKEN: {
    status: 409,
    close: 4409,
    message: 'this Yjs clientID belongs to another author',
  },
  SERVER_ONLY: { status: 403, close: 4409, message: 'only the server writes this' },
  SCHEMA_VIOLATION: { status: 400, close: 4409, message: 'write outside the document schema' },
  INVALID_MESSAGE: { status: 400, close: 4409, message: 'invalid message value' },
  NOT_OWN_STATE: {
    status: 403,
    close: 4409,
    message: 'an identity writes only its own read position and profile',
  },
  NOT_SENDER: {
    status: 403,
    close: 4409,
    message: 'the sender must be the authenticated identity',
  },
  CONCURRENT_CHANGE: {
    status: 409,
    close: 4409,
    message: 'another write changed this value first; the SDK replays the intent',
  },
  IMMUTABLE: { status: 409, close: 4409, message: 'messages are immutable except by recall' },
  REPLY_NOT_FOUND: { status: 422, close: 4409, message: 'the replied-to message does not exist' },
  FORWARD_NOT_FOUND: {
    status: 422,
    close: 4409,
    message: 'the forwarded message does not exist or is not readable',
  },
  NOT_ACCEPTED_YET: {
    status: 409,
    close: 4409,
    message: 'the message has not been accepted by the server yet',
  },
  RECALL_FORBIDDEN: { status: 403, close: 4409, message: 'not allowed to recall this message' },
  RECALL_WINDOW_PASSED: {
    status: 403,
    close: 4409,
    message: 'the 2-minute recall window has passed',
  },
  ALREADY_RECALLED: { status: 409, close: 4409, message: 'the message is already recalled' },
  ROLE_FORBIDDEN: { status: 403, close: 4409, message: 'your role does not allow this' },
  TOO_MANY_DEVICES: {
    status: 409,
    close: 4409,
    message: 'too many devices for this identity in this conversation',
  },
  MEMBER_LIMIT: { status: 409, close: 4409, message: 'the conversation is full' },
  INVITE_FORBIDDEN: { status: 403, close: 4409, message: 'inviting is not allowed here' },
  EXIT_FORBIDDEN: { status: 403, close: 4409, message: 'leaving is not allowed here' },
  READ_BACKWARDS: { status: 409, close: 4409, message: 'a read position only moves forward' },
  CONVERSATION_DISSOLVED: { status: 409, close: 4409, message: 'the conversation is dissolved' },
  CONVERSATION_ARCHIVED: {
    status: 409,
    close: 4409,
    message: 'the conversation is archived: read-only until it is activated again',
  },
  POST_FORBIDDEN: { status: 403, close: 4409, message: 'you may not post in this conversation' },
  // Moderation (server/moderation/): a listed word with MODERATION_MODE=reject is a rule
  // violation like the others (the SDK drops that intent); a rate limit is not: nothing is wrong
  // with the update, so its own close code tells the SDK to keep its intents and retry later.
  SENSITIVE_CONTENT: {
    status: 422,
    close: 4409,
    message: 'the message contains a word that is not allowed',
  },
  RATE_LIMITED: { status: 429, close: 4429, message: 'sending too fast, retry later' },
  MUTED: { status: 403, close: 4409, message: 'you are muted in this conversation' },
  AWARENESS_REJECTED: { status: 403, close: 4403, message: 'awareness state rejected' },
  UPDATE_TOO_LARGE: { status: 413, close: 4413, message: 'update too large' },
  // Uploads (server/files): refused before anything is stored.
  FILE_TOO_LARGE: { status: 413, close: 4413, message: 'file larger than its format allows' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    close: 4415,
    message: 'this MIME type is not allowed for this format',
  },
  FILE_TYPE_MISMATCH: {
    status: 415,
    close: 4415,
    message: 'the file content does not match its MIME type',
  },
  TOO_MANY_PENDING: {
    status: 429,
    close: 4429,
    message: 'too many messages before the room was ready',
  },
  TOO_MANY_CONNECTIONS: {
    status: 429,
    close: 4429,
    message: 'too many open sockets for this identity',
  },
  INTERNAL: { status: 500, close: 4500, message: 'internal error' },
  STORAGE_UNAVAILABLE: { status: 503, close: 4503, message: 'storage unavailable, retry later' },
  // Cluster mode (server/cluster/): this node lost a conversation (or its node slot) to another
  // node; its write was refused by the log's fence, so nothing was written twice. Clients
  // reconnect and reach the new owner.
  FENCED: {
    status: 503,
    close: 4503,
    message: 'another node owns this conversation now, retry',
  },
  SHUTTING_DOWN: { status: 503, close: 4503, message: 'server is shutting down, retry later' },
  // SDK side only: a REST call (e.g. the presence lookup) found no server to talk to.
  UNREACHABLE: { status: 503, close: 4503, message: 'the server cannot be reached, retry later' },
} as const satisfies Record<string, { status: number; close: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

export class ConvosyncError extends Error {
  override readonly name = 'ConvosyncError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.code = code;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get closeCode(): number {
    return ERRORS[this.code].close;
  }
}

/**
 * The close reason sent on the wire: `CODE: message`, cut to the 123 bytes a close frame allows
 * (RFC 6455 §5.5: control frame payload <= 125 bytes, 2 of them the code).
 */
export function closeReason(error: ConvosyncError): string {
  const reason = `${error.code}: ${error.message}`;
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  return `${new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, '')}...`;
}

/** Recovers the error code from a close reason written by `closeReason`. */
export function codeFromCloseReason(reason: string): ErrorCode | undefined {
  const code = reason.split(':', 1)[0];
  return isErrorCode(code) ? code : undefined;
}
