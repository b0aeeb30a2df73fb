/**
 * @module How a RATE_LIMITED error says when to try again. The hint travels in the error's
 * message (`retry in 1200 ms`), because that is what every path already carries: the close
 * reason on the sync path (`RATE_LIMITED: retry in 1200 ms (identity)`, well under the 123 bytes
 * a close frame allows) and the envelope's `message` over REST (which also sets `Retry-After`).
 */
import { ConvosyncError } from './errors.js';

export function rateLimited(retryInMs: number, scope: string): ConvosyncError {
  return new ConvosyncError(
    'RATE_LIMITED',
    `retry in ${Math.max(1, Math.ceil(retryInMs))} ms (${scope} limit)`,
  );
}

/** The advised delay of a RATE_LIMITED error, in ms; undefined for any other error. */
export function retryInMs(error: ConvosyncError): number | undefined {
  if (error.code !== 'RATE_LIMITED') return undefined;
  const match = /retry in (\d+) ms/.exec(error.message);
  return match ? Number(match[1]) : undefined;
}
