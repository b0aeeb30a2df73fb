/**
 * Both members open a brand-new private conversation at the same moment: the server creates it
 * exactly once (one conversation id, one meta, both members), and it stays that way on disk.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots, SERVER_AUTHOR } from '../../shared/schema.js';
import { id, startTestServer, type TestServer, token, waitFor } from '../helpers.js';

let ts: TestServer;

/** Meta fields whose current value has an earlier, overwritten value to its left. */
function overwrittenMetaFields(doc: Y.Doc): string[] {
  const meta = conversationRoots(doc).meta as unknown as { _map: Map<string, { left: unknown }> };
  return [...meta._map.entries()].filter(([, item]) => item.left !== null).map(([field]) => field);
}
beforeAll(async () => {
  ts = await startTestServer({ env: { ROOM_IDLE_MS: '50' } });
});
afterAll(async () => {
  await ts.close();
});

it('creates a private conversation once when both sides connect at the same moment', async () => {
  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    const key = privateKey(id(`x${round}`), id(`y${round}`));
    const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc(), new Y.Doc()];
    const who = [`x${round}`, `y${round}`, `x${round}`, `y${round}`]; // two devices each
    const tokens = await Promise.all(who.map((w) => token(w)));
    const providers = docs.map(
      (doc, i) =>
        new WebsocketProvider(ts.syncUrl, key, doc, {
          params: { token: tokens[i]! },
          WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
          disableBc: true,
        }),
    );
    try {
      await waitFor(() => providers.every((p) => p.synced), 10_000, 'all synced');
      const ids = docs.map((d) => conversationRoots(d).meta.get('conversationId'));
      expect(new Set(ids).size).toBe(1);
      for (const doc of docs) {
        const roots = conversationRoots(doc);
        expect([...roots.members.keys()].sort()).toEqual([`x${round}`, `y${round}`]);
        // One genesis: no meta field was ever written twice, and one server clientID is bound.
        expect(overwrittenMetaFields(doc)).toEqual([]);
        expect([...roots.clients.values()].filter((a) => a === SERVER_AUTHOR)).toHaveLength(1);
      }
    } finally {
      for (const p of providers) p.destroy();
    }
  }

  // After the rooms unload, the stored documents still hold one genesis each.
  await new Promise((r) => setTimeout(r, 300));
  for (let round = 0; round < rounds; round++) {
    const updates = await ts.server.store.load(privateKey(id(`x${round}`), id(`y${round}`)));
    const doc = new Y.Doc();
    for (const u of updates) Y.applyUpdate(doc, u);
    const roots = conversationRoots(doc);
    expect(roots.meta.get('type')).toBe('private');
    expect(overwrittenMetaFields(doc)).toEqual([]);
    expect([...roots.clients.values()]).toEqual([SERVER_AUTHOR]);
  }
});
