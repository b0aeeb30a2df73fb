/**
 * @module Online status of identities across all conversations (a contact list), from the
 * server's presence registry over REST: `GET /api/v1/presence?identities=a,b`. Lists longer
 * than the server's cap go out as several requests.
 */
import { ConvosyncError, isErrorCode } from '../shared/errors.js';
import { MAX_PRESENCE_LOOKUP, type PresenceEntry } from '../shared/presence.js';

export async function lookupPresence(
  /** http(s)://host:port */
  baseUrl: string,
  token: string,
  identities: readonly string[],
): Promise<PresenceEntry[]> {
  const unique = [...new Set(identities)];
  const entries: PresenceEntry[] = [];
  for (let i = 0; i < unique.length; i += MAX_PRESENCE_LOOKUP) {
    const chunk = unique.slice(i, i + MAX_PRESENCE_LOOKUP);
    const url = `${baseUrl}/api/v1/presence?identities=${encodeURIComponent(chunk.join(','))}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    } catch (cause) {
      throw new ConvosyncError('UNREACHABLE', `presence lookup failed: ${String(cause)}`, {
        cause,
      });
    }
    const body = (await response.json().catch(() => undefined)) as
      | { code?: unknown; message?: unknown; data?: { list?: PresenceEntry[] } | null }
      | undefined;
    if (!response.ok || !Array.isArray(body?.data?.list)) {
      const code = isErrorCode(body?.code) ? body.code : 'INTERNAL';
      const message = typeof body?.message === 'string' ? body.message : `HTTP ${response.status}`;
      throw new ConvosyncError(code, message);
    }
    entries.push(...body.data.list);
  }
  return entries;
}
