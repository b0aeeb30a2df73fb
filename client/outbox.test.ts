import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MessageFormat } from '../shared/enums.js';
import { asIdentityId, type MessageId, newMessageKey } from '../shared/ids.js';
import { conversationRoots } from '../shared/schema.js';
import { type Intent, Outbox } from './outbox.js';
import { memoryStore } from './store/memory.js';

function send(content: string): Intent {
  const key = newMessageKey();
  return {
    kind: 'send',
    id: key,
    createdAt: 1,
    message: {
      key,
      sender: asIdentityId('alice'),
      senderType: 1,
      format: MessageFormat.Text,
      content,
      sentAt: 1,
    },
  };
}

describe('outbox', () => {
  it('replays only what the document lacks, so replaying twice is a no-op', async () => {
    const store = memoryStore();
    const outbox = await Outbox.load(store, 'private_alice_bob');
    const doc = new Y.Doc();
    const [a, b] = [send('a'), send('b')];
    await outbox.add(a);
    outbox.apply(doc, a);
    await outbox.add(b); // saved, but the app died before writing it to the document
    expect(outbox.replay(doc)).toBe(1);
    expect(outbox.replay(doc)).toBe(0);
    expect([...conversationRoots(doc).messages.values()].map((m) => m.content).sort()).toEqual([
      'a',
      'b',
    ]);
  });

  it('drops intents once a server stamp confirms them, durably', async () => {
    const store = memoryStore();
    const outbox = await Outbox.load(store, 'private_alice_bob');
    const doc = new Y.Doc();
    const [a, b] = [send('a'), send('b')];
    for (const i of [a, b]) {
      await outbox.add(i);
      outbox.apply(doc, i);
    }
    conversationRoots(doc).stamps.set(a.id, { seq: 1, id: '1' as MessageId, at: 1 });
    await outbox.settle(doc);
    expect(outbox.pending.map((i) => i.id)).toEqual([b.id]);
    expect((await Outbox.load(store, 'private_alice_bob')).pending.map((i) => i.id)).toEqual([
      b.id,
    ]);
  });

  it('names the intent a rejection points at, by clientID and clock', async () => {
    const outbox = await Outbox.load(memoryStore(), 'private_alice_bob');
    const doc = new Y.Doc();
    const [a, b] = [send('a'), send('b')];
    for (const i of [a, b]) {
      await outbox.add(i);
      outbox.apply(doc, i);
    }
    expect(outbox.at(doc.clientID, 0)?.id).toBe(a.id);
    expect(outbox.at(doc.clientID, 1)?.id).toBe(b.id);
    expect(outbox.at(doc.clientID, 2)).toBeUndefined();
    expect(outbox.at(doc.clientID + 1, 0)).toBeUndefined();
  });
});
