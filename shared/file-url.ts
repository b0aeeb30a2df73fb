/**
 * @module Where the server serves an uploaded file, the only `file.url` a message may carry: a
 * path on the server itself (valid whatever its host), never a third-party address, which every
 * reader's app would fetch on display (a tracking pixel that reports who read what, and when).
 */
import { type ConversationKey, type DocName, tryParseKey } from './keys.js';

export const FILE_URL_PREFIX = '/api/v1/files/';

/** The path of the file with this SHA-256 (64 hex digits) uploaded into `conversationKey`. */
export function fileUrl(conversationKey: ConversationKey | DocName, sha256: string): string {
  return `${FILE_URL_PREFIX}${conversationKey}/${sha256}`;
}

/**
 * Whether `url` is a file this server stores: `/api/v1/files/{conversationKey}/{sha256}`. Any
 * conversation's, so a forward keeps its source's file (readers need access to that one).
 */
export function isServerFileUrl(url: string): boolean {
  if (!url.startsWith(FILE_URL_PREFIX)) return false;
  const [key, sha, ...rest] = url.slice(FILE_URL_PREFIX.length).split('/');
  if (rest.length > 0 || key === undefined || sha === undefined) return false;
  return /^[0-9a-f]{64}$/.test(sha) && tryParseKey(key)?.key === key;
}
