import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { newMessageKey } from '../../shared/ids.js';
import { readMessage } from '../../shared/protocol/sync.js';
import { tombstone } from '../../shared/rules/message.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import { deletesMessageContent, FullStates } from './full-state.js';

function say(doc: Y.Doc, content: string): Message {
  const message: Message = {
    key: newMessageKey(),
    sender: 'alice' as Message['sender'],
    senderType: 1,
    format: 0,
    content,
    sentAt: Date.now(),
  };
  conversationRoots(doc).messages.set(message.key, message);
  return message;
}

/** A client holding nothing that applies `frames` in order; whether it was synced before the last. */
function freshClient(frames: Uint8Array[]): { doc: Y.Doc; syncedEarly: boolean } {
  const doc = new Y.Doc();
  let syncedEarly = false;
  frames.forEach((frame, i) => {
    const m = readMessage(frame);
    if (m.type !== 'sync-step2' && m.type !== 'update') throw new Error(`unexpected ${m.type}`);
    if (m.type === 'sync-step2' && i < frames.length - 1) syncedEarly = true;
    Y.applyUpdate(doc, m.update);
  });
  return { doc, syncedEarly };
}

const text = (doc: Y.Doc) =>
  [...conversationRoots(doc).messages.values()].map((m) => m.content).sort();

describe('FullStates', () => {
  const big = () => {
    const doc = new Y.Doc();
    for (let i = 0; i < 600; i++) say(doc, `message ${i} ${'x'.repeat(100)}`);
    return doc;
  };

  it('keeps a large document’s encoding and brings later clients up to date with a diff', () => {
    const doc = big();
    const states = new FullStates(64 * 1024 * 1024);
    const first = states.framesFor('group_a', doc);
    expect(first.map((f) => readMessage(f).type)).toEqual(['sync-step2']);
    expect(states.size).toBeGreaterThan(64 * 1024);

    say(doc, 'after the first open');
    const second = states.framesFor('group_a', doc);
    // The kept state as an update, then the diff as sync step 2: `synced` only when complete.
    expect(second.map((f) => readMessage(f).type)).toEqual(['update', 'sync-step2']);
    const client = freshClient(second);
    expect(client.syncedEarly).toBe(false);
    expect(text(client.doc)).toEqual(text(doc));
    expect(text(client.doc)).toContain('after the first open');
  });

  it('does not keep small documents, and respects its budget', () => {
    const small = new Y.Doc();
    say(small, 'hi');
    const states = new FullStates(64 * 1024 * 1024);
    states.framesFor('private_a_b', small);
    expect(states.size).toBe(0);

    const tight = new FullStates(100 * 1024);
    tight.framesFor('group_a', big());
    const one = tight.size;
    tight.framesFor('group_b', big());
    expect(tight.size).toBe(one); // the least recently used went
  });

  it('drops the kept state when a step deletes a message’s content (a recall)', () => {
    const doc = big();
    const secret = say(doc, 'a secret to recall');
    const states = new FullStates(64 * 1024 * 1024);
    const { messages } = conversationRoots(doc);
    let dropped = 0;
    doc.on('afterTransaction', (transaction: Y.Transaction) => {
      if (deletesMessageContent(transaction, messages)) {
        dropped += 1;
        states.drop('group_a');
      }
    });
    states.framesFor('group_a', doc);
    say(doc, 'a new message deletes nothing');
    doc.getMap('reads').set('alice', 3);
    doc.getMap('reads').set('alice', 4); // an overwrite outside messages
    expect(dropped).toBe(0);
    messages.set(secret.key, tombstone(secret, secret.sender));
    expect(dropped).toBe(1);
    expect(states.size).toBe(0);
    const frames = states.framesFor('group_a', doc);
    const bytes = Buffer.concat(frames.map((f) => Buffer.from(f)));
    expect(bytes.includes('a secret to recall')).toBe(false);
    expect(text(freshClient(frames).doc)).toEqual(text(doc));
  });
});
