/**
 * Two stock y-websocket WebsocketProviders, tokens for the two members of private_alice_bob,
 * exchange messages through a real server and converge; a third identity is refused with 4403;
 * a missing or bad token gets 401 before the upgrade.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { listMessages } from '../../shared/conversation.js';
import { MemberRole, MemberStatus, MessageFormat } from '../../shared/enums.js';
import { newMessageKey } from '../../shared/ids.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import {
  HttpRefusal,
  id,
  rawSocket,
  startTestServer,
  type TestServer,
  token,
  waitFor,
} from '../helpers.js';

let ts: TestServer;
const key = privateKey(id('bob'), id('alice'));

beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
});

function provider(doc: Y.Doc, jwt: string, room: string = key): WebsocketProvider {
  return new WebsocketProvider(ts.syncUrl, room, doc, {
    params: { token: jwt },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
}

function say(doc: Y.Doc, sender: string, content: string, senderType = 1): Message {
  const message: Message = {
    key: newMessageKey(),
    sender: id(sender),
    senderType,
    format: MessageFormat.Text,
    content,
    sentAt: Date.now(),
  };
  conversationRoots(doc).messages.set(message.key, message);
  return message;
}

describe('stock y-websocket clients', () => {
  it('two members exchange messages and converge on one seq order', async () => {
    expect(key).toBe('private_alice_bob');
    const docA = new Y.Doc();
    const docB = new Y.Doc();
    const a = provider(docA, await token('alice'));
    const b = provider(docB, await token('bob', 2));
    try {
      await waitFor(() => a.synced && b.synced, 10_000, 'both synced');
      // The server created the conversation: meta and both members, server-authored.
      const members = conversationRoots(docA).members;
      expect(members.get('alice')).toMatchObject({
        role: MemberRole.Member,
        status: MemberStatus.Active,
        identityType: 1,
      });
      await waitFor(
        () => conversationRoots(docA).members.get('bob')?.identityType === 2,
        10_000,
        'bob type learned',
      );
      expect(conversationRoots(docA).meta.get('key')).toBe(key);

      say(docA, 'alice', 'hi bob');
      say(docB, 'bob', 'hi alice', 2);
      say(docA, 'alice', '你好');

      const settled = (doc: Y.Doc) => {
        const list = listMessages(doc);
        return list.length === 3 && list.every((m) => !m.pending) ? list : undefined;
      };
      const listA = await waitFor(() => settled(docA), 10_000, 'alice sees 3 stamped');
      const listB = await waitFor(() => settled(docB), 10_000, 'bob sees 3 stamped');
      expect(listA.map((m) => m.stamp?.seq)).toEqual([1, 2, 3]);
      expect(listB.map((m) => [m.key, m.stamp?.seq, m.stamp?.id])).toEqual(
        listA.map((m) => [m.key, m.stamp?.seq, m.stamp?.id]),
      );
      expect(new Set(listA.map((m) => m.stamp?.id)).size).toBe(3);
      expect(listA.map((m) => m.content).sort()).toEqual(['hi alice', 'hi bob', '你好']);
      expect(Y.encodeStateVector(docA)).toEqual(Y.encodeStateVector(docB));
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('refuses a third identity with close code 4403 and a reason', async () => {
    const doc = new Y.Doc();
    const carol = provider(doc, await token('carol'));
    try {
      const closedEvent = await new Promise<{ code: number; reason: string }>((resolve) =>
        carol.once('closed', (event) => resolve(event)),
      );
      expect(closedEvent.code).toBe(4403);
      expect(closedEvent.reason).toMatch(/^NOT_MEMBER: carol is not an active member/);
      expect(carol.shouldConnect).toBe(false); // the stock provider stops retrying on 44xx
      expect(conversationRoots(doc).messages.size).toBe(0); // and learned nothing
    } finally {
      carol.destroy();
    }
  });

  it('answers 401 to a missing or bad token, before the upgrade', async () => {
    const refusal = (url: string) =>
      rawSocket(url).then(
        () => undefined,
        (error: unknown) => error,
      );
    const missing = await refusal(`${ts.syncUrl}/${key}`);
    expect(missing).toBeInstanceOf(HttpRefusal);
    expect((missing as HttpRefusal).status).toBe(401);
    const forged = await refusal(
      `${ts.syncUrl}/${key}?token=${(await token('alice')).slice(0, -4)}AAAA`,
    );
    expect((forged as HttpRefusal).status).toBe(401);
    const garbage = await refusal(`${ts.syncUrl}/${key}?token=not-a-jwt`);
    expect((garbage as HttpRefusal).status).toBe(401);
    // A group that does not exist is a 4404 close, an invalid key a 400.
    const badKey = await refusal(`${ts.syncUrl}/private_bob_alice?token=${await token('alice')}`);
    expect((badKey as HttpRefusal).status).toBe(400);
  });
});
