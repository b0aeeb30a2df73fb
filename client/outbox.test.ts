import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { writeGenesis } from '../shared/conversation.js';
import { MessageFormat } from '../shared/enums.js';
import { asIdentityId, type MessageId, newMessageKey } from '../shared/ids.js';
import { parseKey } from '../shared/keys.js';
import { conversationRoots } from '../shared/schema.js';
import type { Intent } from './intents.js';
import { type ApplyContext, Outbox } from './outbox.js';
import { memoryStore } from './store/memory.js';

const alice = { id: asIdentityId('alice'), type: 1 };
const parsed = parseKey('private_alice_bob');
const ctx: ApplyContext = { parsed, author: alice, now: 1000 };

function send(content: string): Intent {
  const key = newMessageKey();
  return {
    kind: 'send',
    id: key,
    createdAt: 1,
    message: {
      key,
      sender: alice.id,
      senderType: 1,
      format: MessageFormat.Text,
      content,
      sentAt: 1,
    },
  };
}

function conversation(): Y.Doc {
  const doc = new Y.Doc();
  writeGenesis(doc, {
    parsed,
    conversationId: '1' as MessageId,
    now: 0,
    createdBy: alice.id,
    identityTypes: new Map([[alice.id, 1]]),
  });
  return doc;
}

describe('outbox', () => {
  it('replays only what the document lacks, so replaying twice is a no-op', async () => {
    const store = memoryStore();
    const outbox = await Outbox.load(store, 'private_alice_bob');
    const doc = conversation();
    await outbox.submit(doc, send('a'), ctx, null);
    await outbox.submit(doc, send('b'), ctx, null);
    // The local document is lost (reset): a fresh one gets both back, once.
    const fresh = conversation();
    const settled: string[] = [];
    outbox.onSettled = (intent, outcome) => settled.push(`${intent.id} ${outcome.status}`);
    await outbox.replay(fresh, ctx, null);
    await outbox.replay(fresh, ctx, null);
    expect(settled).toEqual([]);
    expect(outbox.pending).toHaveLength(2);
    expect([...conversationRoots(fresh).messages.values()].map((m) => m.content).sort()).toEqual([
      'a',
      'b',
    ]);
    expect(conversationRoots(fresh).messages.size).toBe(2);
  });

  it('refuses, without recording or writing anything, what the rules refuse', async () => {
    const outbox = await Outbox.load(memoryStore(), 'private_alice_bob');
    const doc = conversation();
    const forged = send('x');
    if (forged.kind === 'send') forged.message.sender = asIdentityId('bob');
    await expect(outbox.submit(doc, forged, ctx, null)).rejects.toMatchObject({
      code: 'NOT_SENDER',
    });
    expect(outbox.pending).toHaveLength(0);
    expect(conversationRoots(doc).messages.size).toBe(0);
  });

  it('drops intents once a server stamp confirms them, durably', async () => {
    const store = memoryStore();
    const outbox = await Outbox.load(store, 'private_alice_bob');
    const doc = conversation();
    const [a, b] = [send('a'), send('b')];
    await outbox.submit(doc, a, ctx, null);
    await outbox.submit(doc, b, ctx, null);
    conversationRoots(doc).stamps.set(a.id, { seq: 1, id: '1' as MessageId, at: 1 });
    await outbox.settle(doc);
    expect(outbox.pending.map((i) => i.id)).toEqual([b.id]);
    expect((await Outbox.load(store, 'private_alice_bob')).pending.map((i) => i.id)).toEqual([
      b.id,
    ]);
  });

  it('names the intent a rejection points at, and drops intents the server acknowledged', async () => {
    const outbox = await Outbox.load(memoryStore(), 'private_alice_bob');
    const doc = conversation();
    const [a, b] = [send('a'), send('b')];
    await outbox.submit(doc, a, ctx, null);
    await outbox.submit(doc, b, ctx, null);
    const start = Y.getState(doc.store, doc.clientID) - 2;
    expect(outbox.at(doc.clientID, start)?.id).toBe(a.id);
    expect(outbox.at(doc.clientID, start + 1)?.id).toBe(b.id);
    expect(outbox.at(doc.clientID, start + 2)).toBeUndefined();
    await outbox.settle(doc, new Map([[doc.clientID, start + 1]]));
    expect(outbox.pending.map((i) => i.id)).toEqual([b.id]);
  });
});

describe('outbox writes', () => {
  it('a burst of sends shares writes of the outbox (one per write in flight), each durable with its intent', async () => {
    const store = memoryStore();
    let writes = 0;
    let slow = Promise.resolve();
    const counted = {
      ...store,
      // A store whose writes take a while, like IndexedDB or LevelDB.
      saveIntents(name: string, list: readonly Intent[]) {
        writes += 1;
        slow = slow.then(() => new Promise((resolve) => setTimeout(resolve, 5)));
        return slow.then(() => store.saveIntents(name, list));
      },
    };
    const outbox = await Outbox.load(counted, 'private_alice_bob');
    const doc = conversation();
    const burst = Array.from({ length: 100 }, (_, i) => send(`m${i}`));
    await Promise.all(burst.map((intent) => outbox.submit(doc, intent, ctx, null)));
    await outbox.settle(doc); // waits for the write in flight
    // Without coalescing: two writes per send (before and after applying it), 200.
    expect(writes).toBeLessThanOrEqual(4);
    const saved = await store.loadIntents('private_alice_bob');
    expect(saved.map((i) => i.id)).toEqual(burst.map((i) => i.id));
    expect(saved.every((i) => (i as { written?: unknown }).written !== undefined)).toBe(true);
  });
});
