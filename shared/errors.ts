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
  INVALID_MESSAGE: { status: 400, close: 4400, message: 'invalid message value' },
  UNAUTHORIZED: { status: 401, close: 4401, message: 'missing or invalid token' },
  FORBIDDEN: { status: 403, close: 4403, message: 'forbidden' },
  NOT_MEMBER: { status: 403, close: 4403, message: 'not an active member of this conversation' },
  NOT_FOUND: { status: 404, close: 4404, message: 'not found' },
  CONVERSATION_NOT_FOUND: { status: 404, close: 4404, message: 'conversation does not exist' },
  UPDATE_REJECTED: { status: 409, close: 4409, message: 'update rejected by the rules' },
  UPDATE_TOO_LARGE: { status: 413, close: 4413, message: 'update too large' },
  TOO_MANY_PENDING: {
    status: 429,
    close: 4429,
    message: 'too many messages before the room was ready',
  },
  INTERNAL: { status: 500, close: 4500, message: 'internal error' },
  STORAGE_UNAVAILABLE: { status: 503, close: 4503, message: 'storage unavailable, retry later' },
  SHUTTING_DOWN: { status: 503, close: 4503, message: 'server is shutting down, retry later' },
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
