/**
 * @module What a message search query is, for the server's search endpoint and the SDK's local
 * search alike: trimmed, 1–100 characters, matched as a case-insensitive substring (no word
 * splitting, so Chinese and other unspaced scripts match like English).
 */
import { ConvosyncError } from './errors.js';

export const SEARCH_QUERY_MAX_LENGTH = 100;

/** The query to match, or BAD_REQUEST naming the problem. */
export function searchQuery(raw: unknown): string {
  if (typeof raw !== 'string') throw new ConvosyncError('BAD_REQUEST', 'q: a string');
  const q = raw.trim();
  if (q.length === 0) throw new ConvosyncError('BAD_REQUEST', 'q: empty');
  if (q.length > SEARCH_QUERY_MAX_LENGTH)
    throw new ConvosyncError('BAD_REQUEST', `q: at most ${SEARCH_QUERY_MAX_LENGTH} characters`);
  if (q.includes('\0')) throw new ConvosyncError('BAD_REQUEST', 'q: contains a NUL character');
  return q;
}
