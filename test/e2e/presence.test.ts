/**
 * Presence and typing end to end: real server, real SDK clients (each with its own memory
 * store, so its own device id), stock y-websocket providers and raw sockets. What is asserted is
 * what other members observe: who is online (per conversation and across conversations, over
 * REST), who is typing, and that the server refuses a state that claims someone else.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { Client, TypingView } from '../../client/index.js';
import { memoryStore } from '../../client/store/memory.js';
import { privateKey } from '../../shared/keys.js';
import type { PresenceEntry } from '../../shared/presence.js';
import * as wire from '../../shared/protocol/sync.js';
import {
  id,
  rawSocket,
  sdkClient,
  startTestServer,
  syncPeer,
  type TestServer,
  token,
  waitFor,
} from '../helpers.js';

let ts: TestServer;
const open: Array<{ close(): Promise<void> | void }> = [];
const chat = privateKey(id('alice'), id('bob'));

beforeAll(async () => {
  ts = await startTestServer();
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});
afterAll(async () => {
  await ts.close();
});

async function client(
  who: string,
  presence?: { typingTtlMs?: number; typingThrottleMs?: number },
): Promise<Client> {
  const c = await sdkClient(ts.httpUrl, who, {
    storage: memoryStore(),
    ...(presence ? { presence } : {}),
  });
  open.push(c);
  return c;
}

function stock(room: string, jwt: string): WebsocketProvider {
  const provider = new WebsocketProvider(ts.syncUrl, room, new Y.Doc(), {
    params: { token: jwt },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  open.push({ close: () => provider.destroy() });
  return provider;
}

async function lookup(asker: Client, who: string): Promise<PresenceEntry> {
  const [entry] = await asker.presence([who]);
  return entry!;
}

describe('online', () => {
  it('shows alice online while either of her devices is connected, offline after both left', async () => {
    const bob = await client('bob');
    const b = await bob.openPrivate('alice');
    await b.whenSynced();
    expect(await lookup(bob, 'alice')).toEqual({
      identity: 'alice',
      online: false,
      lastSeenAt: null,
    });

    const phone = await client('alice');
    const laptop = await client('alice');
    await (await phone.openPrivate('bob')).whenSynced();
    await (await laptop.openPrivate('bob')).whenSynced();
    await waitFor(() => b.presence.devices(id('alice')) === 2, 10_000, 'both alice devices');
    expect(b.presence.online()).toEqual(['alice', 'bob']);
    expect(await lookup(bob, 'alice')).toMatchObject({ online: true });

    await phone.close();
    await waitFor(() => b.presence.devices(id('alice')) === 1, 10_000, 'phone gone');
    expect(b.presence.online()).toEqual(['alice', 'bob']);
    expect(await lookup(bob, 'alice')).toMatchObject({ online: true });

    const went: string[][] = [];
    b.presence.on('online', (ids) => went.push([...ids]));
    const before = Date.now();
    await laptop.close();
    await waitFor(() => b.presence.online().length === 1, 10_000, 'alice offline');
    expect(b.presence.online()).toEqual(['bob']);
    expect(went.at(-1)).toEqual(['bob']);
    const entry = await lookup(bob, 'alice');
    expect(entry).toMatchObject({ identity: 'alice', online: false });
    expect(entry.lastSeenAt).toBeGreaterThanOrEqual(before);
  });

  it('takes alice offline when she closes after a reconnect (same clientID, no ghost)', async () => {
    const bob = await client('bob');
    const alice = await client('alice');
    const b = await bob.openPrivate('alice');
    const a = await alice.openPrivate('bob');
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    await waitFor(() => b.presence.online().includes(id('alice')), 10_000, 'alice online');
    alice.goOffline();
    await waitFor(() => !b.presence.online().includes(id('alice')), 10_000, 'offline');
    alice.goOnline();
    await waitFor(() => b.presence.online().includes(id('alice')), 10_000, 'back online');
    await alice.close();
    // Well before the 30 s awareness timeout could hide a state the server failed to remove.
    await waitFor(() => !b.presence.online().includes(id('alice')), 5_000, 'offline again');
  });

  it('answers a bad lookup with 400 and a typed error', async () => {
    const bob = await client('bob');
    const jwt = await token('bob');
    const bad = await fetch(`${ts.httpUrl}/api/v1/presence?identities=al_ice`, {
      headers: { authorization: `Bearer ${jwt}` },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'BAD_REQUEST' });
    const many = Array.from({ length: 101 }, (_, i) => `u${i}`).join(',');
    const tooMany = await fetch(`${ts.httpUrl}/api/v1/presence?identities=${many}`, {
      headers: { authorization: `Bearer ${jwt}` },
    });
    expect(tooMany.status).toBe(400);
    const anonymous = await fetch(`${ts.httpUrl}/api/v1/presence?identities=bob`);
    expect(anonymous.status).toBe(401);
    // The SDK splits long lists into requests the server accepts.
    const all = await bob.presence(Array.from({ length: 150 }, (_, i) => `u${i}`));
    expect(all).toHaveLength(150);
    await expect(bob.presence(['not valid'])).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const openapi = (await (await fetch(`${ts.httpUrl}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, { get?: { parameters: Array<{ name: string }> } }>;
    };
    expect(openapi.paths['/presence']?.get?.parameters.map((p) => p.name)).toEqual(['identities']);
  });
});

describe('typing', () => {
  it('shows alice typing to bob, and expires it on bob’s side without a clear from alice', async () => {
    // Alice never clears (her own expiry is far away); bob's view expires after 1.5 s.
    const alice = await client('alice', { typingTtlMs: 600_000 });
    const bob = await client('bob', { typingTtlMs: 1500 });
    const a = await alice.openPrivate('bob');
    const b = await bob.openPrivate('alice');
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    await waitFor(() => b.presence.online().includes(id('alice')), 10_000, 'alice online');

    const views: TypingView[] = [];
    b.presence.on('typing', (view) => views.push(view));
    a.presence.setTyping(true);
    await waitFor(() => b.presence.typing().count === 1, 10_000, 'bob sees alice typing');
    expect(b.presence.typing()).toEqual({ count: 1, identities: ['alice'] });
    expect(a.presence.typing()).toEqual({ count: 0, identities: [] }); // not herself

    // The getter is exact to the millisecond; the event comes from a timer, which a loaded
    // machine can run late, so wait for the event and then check that both agree.
    await waitFor(() => views.at(-1)?.count === 0, 10_000, 'typing expired for bob');
    expect(b.presence.typing().count).toBe(0);
    expect(a.presence.isTyping).toBe(true); // alice's state still says typing
    expect(views.map((v) => v.count)).toEqual([1, 0]);
  });

  it('clears at once when the sender stops or sends', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const a = await alice.openPrivate('bob');
    const b = await bob.openPrivate('alice');
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    a.presence.setTyping(true);
    await waitFor(() => b.presence.typing().count === 1, 10_000, 'typing');
    await a.send({ content: 'hi' });
    expect(a.presence.isTyping).toBe(false);
    await waitFor(() => b.presence.typing().count === 0, 10_000, 'cleared by send');
  });

  it('counts 8 typers in a group and names only the first 5', async () => {
    const typers = Array.from({ length: 8 }, (_, i) => `typer${i}`);
    const olga = await client('olga');
    const group = await olga.createGroup({
      name: 'busy',
      members: typers.map((t) => ({ identity: t, identityType: 1 })),
    });
    await group.whenSynced();
    await waitFor(() => group.pendingIntents().length === 0, 10_000, 'group accepted');

    const conversations = await Promise.all(
      typers.map(async (t) => {
        const c = await (await client(t)).open(group.key);
        await c.whenSynced();
        return c;
      }),
    );
    for (const c of conversations) c.presence.setTyping(true);
    await waitFor(() => group.presence.typing().count === 8, 15_000, '8 typers');
    const view = group.presence.typing();
    expect(view.identities).toHaveLength(5);
    for (const who of view.identities) expect(typers).toContain(who);
    await waitFor(() => conversations[0]!.presence.typing().count === 7, 15_000, 'others');
    expect(conversations[0]!.presence.typing().identities).not.toContain('typer0');
  });
});

describe('the server', () => {
  it('refuses an awareness state that claims another identity', async () => {
    const provider = stock(chat, await token('bob'));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      provider.on('connection-close', (event) =>
        resolve({ code: event?.code ?? 0, reason: event?.reason ?? '' }),
      ),
    );
    await waitFor(() => provider.synced, 10_000, 'synced');
    provider.awareness.setLocalState({ user: { id: 'alice', type: 1 }, device: 'forged' });
    const outcome = await closed;
    expect(outcome.code).toBe(4403);
    expect(outcome.reason).toMatch(/^AWARENESS_REJECTED: user\.id must be bob/);
  });

  it('closes a socket whose awareness state is not JSON with 4400', async () => {
    const peer = await syncPeer(ts, chat, 'bob');
    const fake = new Y.Doc();
    const e = [1, fake.clientID, 1]; // one entry: clientID, clock, then a state string
    const encoder = new TextEncoder().encode('{not json');
    const update = new Uint8Array([...varUints(e), ...varUints([encoder.length]), ...encoder]);
    peer.sendAwareness(update);
    const outcome = await peer.outcome();
    expect(outcome.code).toBe(4400);
    expect(outcome.reason).toMatch(/^MALFORMED_MESSAGE/);
  });

  it('ignores echoes: two stock providers relay each other’s states and stay connected', async () => {
    const a = stock(chat, await token('alice'));
    const b = stock(chat, await token('bob'));
    const closes: number[] = [];
    for (const p of [a, b]) p.on('connection-close', (event) => closes.push(event?.code ?? 0));
    await waitFor(() => a.synced && b.synced, 10_000, 'synced');
    a.awareness.setLocalState({ user: { id: 'alice', type: 1 }, device: 'a' });
    b.awareness.setLocalState({ user: { id: 'bob', type: 1 }, device: 'b' });
    for (let i = 0; i < 5; i++) a.awareness.setLocalStateField('cursor', i);
    await waitFor(() => b.awareness.getStates().get(a.awareness.clientID)?.cursor === 4, 10_000);
    await waitFor(() => a.awareness.getStates().has(b.awareness.clientID), 10_000, 'bob seen');
    expect(closes).toEqual([]);
  });

  it('does not let a relayed removal take someone else offline', async () => {
    const alice = await client('alice');
    const a = await alice.openPrivate('bob');
    await a.whenSynced();
    const room = ts.server.rooms.peek(a.key)!;
    const clientId = a.doc.clientID;
    await waitFor(() => room.awareness.getStates().has(clientId), 10_000, 'alice state');
    const clock = room.awareness.meta.get(clientId)!.clock;
    const peer = await syncPeer(ts, chat, 'bob');
    const removal = [...varUints([1, clientId, clock]), ...varUints([4]), ...Buffer.from('null')];
    peer.sendAwareness(new Uint8Array(removal));
    const before = peer.ws.received.length;
    peer.ws.send(wire.writeQueryAwareness());
    await waitFor(() => peer.ws.received.length > before, 10_000, 'query answered');
    expect(room.awareness.getStates().has(clientId)).toBe(true);
    expect(peer.ws.readyState).toBe(WebSocket.OPEN);
    peer.close();
  });

  it('shows a stock y-websocket client’s presence and typing to the SDK', async () => {
    const alice = await client('alice');
    const a = await alice.openPrivate('bob');
    await a.whenSynced();
    const provider = stock(chat, await token('bob'));
    await waitFor(() => provider.synced, 10_000, 'stock synced');
    provider.awareness.setLocalState({ user: { id: 'bob', type: 1 }, device: 'stock' });
    await waitFor(() => a.presence.online().includes(id('bob')), 10_000, 'bob online');
    provider.awareness.setLocalStateField('typing', { at: Date.now() });
    await waitFor(() => a.presence.typing().count === 1, 10_000, 'bob typing');
    expect(a.presence.typing().identities).toEqual(['bob']);
    // And the stock client sees the SDK's state in the documented schema.
    const states = [...provider.awareness.getStates().values()];
    expect(states).toContainEqual(
      expect.objectContaining({ user: { id: 'alice', type: 1 }, device: expect.any(String) }),
    );
    provider.disconnect();
    await waitFor(() => !a.presence.online().includes(id('bob')), 10_000, 'bob offline');
  });
});

describe('after a rejection', () => {
  let skewed: TestServer;
  let skew = 0;
  beforeAll(async () => {
    skewed = await startTestServer({ overrides: { now: () => Date.now() + skew } });
  });
  afterAll(async () => {
    await skewed.close();
  });

  it('keeps presence and typing across the conversation’s reset', async () => {
    const alice = await sdkClient(skewed.httpUrl, 'alice', { storage: memoryStore() });
    const bob = await sdkClient(skewed.httpUrl, 'bob', { storage: memoryStore() });
    open.push(alice, bob);
    const a = await alice.openPrivate('bob');
    const b = await bob.openPrivate('alice');
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    const first = await a.send({ content: 'first' });
    await waitFor(() => a.pendingIntents().length === 0, 10_000, 'first accepted');
    const resets: number[] = [];
    a.on('reset', () => resets.push(a.doc.clientID));
    const before = a.doc.clientID;

    alice.goOffline();
    await waitFor(() => !b.presence.online().includes(id('alice')), 10_000, 'alice offline');
    await a.recall(first.key); // in the window by alice's clock, not by the server's
    a.presence.setTyping(true);
    skew = 3 * 60_000;
    alice.goOnline();

    await waitFor(() => resets.length > 0, 10_000, 'reset');
    expect(a.doc.clientID).not.toBe(before);
    await waitFor(() => b.presence.typing().count === 1, 10_000, 'typing after the reset');
    expect(b.presence.online()).toEqual(['alice', 'bob']);
    const room = skewed.server.rooms.peek(a.key)!;
    await waitFor(() => room.awareness.getStates().has(a.doc.clientID), 10_000, 'new state');
    expect(room.awareness.getStates().has(before)).toBe(false);
  });
});

describe('fan-out', () => {
  let slow: TestServer;
  beforeAll(async () => {
    // Wide windows, so a burst is sure to fall inside one.
    slow = await startTestServer({
      env: { AWARENESS_FANOUT_MS: '1000', AWARENESS_FLOOR_MS: '1000' },
    });
  });
  afterAll(async () => {
    await slow.close();
  });

  it('merges a burst of one client’s updates; viewers get its last state in a few frames', async () => {
    const viewer = await rawSocket(`${slow.syncUrl}/${chat}?token=${await token('alice')}`);
    const flooder = await syncPeer(slow, chat, 'bob');
    const doc = new Y.Doc();
    const awareness = new awarenessProtocol.Awareness(doc);
    for (let i = 1; i <= 50; i++) {
      awareness.setLocalState({ user: { id: 'bob', type: 1 }, device: 'd', cursor: i });
      flooder.sendAwareness(awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]));
    }
    const frames = () =>
      viewer.received.map((frame) => wire.readMessage(frame)).filter((m) => m.type === 'awareness');
    const lastCursor = () => {
      const seen = new awarenessProtocol.Awareness(new Y.Doc());
      for (const m of frames()) awarenessProtocol.applyAwarenessUpdate(seen, m.update, 'server');
      const cursor = seen.getStates().get(doc.clientID)?.cursor as number | undefined;
      seen.destroy();
      return cursor;
    };
    await waitFor(() => lastCursor() === 50, 10_000, 'the last state');
    // The first update goes out at once, the other 49 as one merge: 2 frames, not 50.
    expect(frames().length).toBeLessThanOrEqual(3);
    awareness.destroy();
    viewer.close();
    flooder.close();
  });
});

function varUints(values: number[]): number[] {
  const out: number[] = [];
  for (let value of values) {
    while (value > 0x7f) {
      out.push((value & 0x7f) | 0x80);
      value = Math.floor(value / 128);
    }
    out.push(value);
  }
  return out;
}
