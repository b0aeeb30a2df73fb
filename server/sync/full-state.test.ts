import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { newMessageKey } from '../../shared/ids.js';
import { readMessage } from '../../shared/protocol/sync.js';
import { tombstone } from '../../shared/rules/message.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import { deletesKeptContent, FullStates, positionMaps } from './full-state.js';

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

const MiB = 1024 * 1024;
const roomA = { name: 'room A' };
const roomB = { name: 'room B' };

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
    const states = new FullStates(64 * MiB);
    const first = states.framesFor(roomA, doc);
    expect(first.map((f) => readMessage(f).type)).toEqual(['sync-step2']);
    expect(states.size).toBeGreaterThan(64 * 1024);

    say(doc, 'after the first open');
    const second = states.framesFor(roomA, doc);
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
    const states = new FullStates(64 * MiB);
    states.framesFor(roomA, small);
    expect(states.size).toBe(0);

    const tight = new FullStates(100 * 1024);
    tight.framesFor(roomA, big());
    const one = tight.size;
    tight.framesFor(roomB, big());
    expect(tight.size).toBe(one); // the least recently used went
  });

  it('drops the kept state when a step deletes a message’s content (a recall)', () => {
    const doc = big();
    const secret = say(doc, 'a secret to recall');
    const states = new FullStates(64 * MiB);
    const { messages, reads, delivered } = conversationRoots(doc);
    const positions = new Set<object>([reads, delivered]);
    let dropped = 0;
    doc.on('afterTransaction', (transaction: Y.Transaction) => {
      if (deletesKeptContent(transaction, positions)) {
        dropped += 1;
        states.drop(roomA);
      }
    });
    states.framesFor(roomA, doc);
    say(doc, 'a new message deletes nothing');
    reads.set('alice', 3);
    reads.set('alice', 4); // a read position moves on: the old one is deleted, harmlessly
    expect(dropped).toBe(0);
    messages.set(secret.key, tombstone(secret, secret.sender));
    expect(dropped).toBe(1);
    expect(states.size).toBe(0);
    const frames = states.framesFor(roomA, doc);
    const bytes = Buffer.concat(frames.map((f) => Buffer.from(f)));
    expect(bytes.includes('a secret to recall')).toBe(false);
    expect(text(freshClient(frames).doc)).toEqual(text(doc));
  });

  it('drops it on any other deletion too: an old group name must not reach a new client', () => {
    const doc = big();
    const { meta, reads, delivered } = conversationRoots(doc);
    meta.set('name', 'the old name');
    const states = new FullStates(64 * MiB);
    const positions = new Set<object>([reads, delivered]);
    doc.on('afterTransaction', (transaction: Y.Transaction) => {
      if (deletesKeptContent(transaction, positions)) states.drop(roomA);
    });
    states.framesFor(roomA, doc);
    expect(states.size).toBeGreaterThan(0);
    meta.set('name', 'the new name');
    expect(states.size).toBe(0);
    const bytes = Buffer.concat(states.framesFor(roomA, doc).map((f) => Buffer.from(f)));
    expect(bytes.includes('the old name')).toBe(false);
  });

  it('encodes anew once the diff has grown past a quarter of the kept state', () => {
    const doc = big();
    const states = new FullStates(64 * MiB);
    const seen = new Set<string>();
    for (let open = 0; open < 12; open++) {
      const frames = states.framesFor(roomA, doc);
      seen.add(frames.map((f) => readMessage(f).type).join(','));
      expect(text(freshClient(frames).doc)).toEqual(text(doc));
      for (let i = 0; i < 20; i++) say(doc, `open ${open} more ${i} ${'y'.repeat(200)}`);
    }
    expect(seen).toEqual(new Set(['sync-step2', 'update,sync-step2']));
  });

  it('loading an update that carries deleted content is a deletion of kept content; loading a compacted one is not', () => {
    // Whether a load deleted content (`Room.load` keeps the update it loaded only when not).
    const loadDeletes = (update: Uint8Array) => {
      const doc = new Y.Doc();
      let deleted = false;
      doc.on('afterTransaction', (transaction: Y.Transaction) => {
        deleted ||= deletesKeptContent(transaction, positionMaps(doc));
      });
      Y.applyUpdate(doc, update);
      return deleted;
    };
    const raw = new Y.Doc({ gc: false }); // keeps deleted content, as an update log does
    const secret = say(raw, 'a recalled text');
    say(raw, 'kept');
    conversationRoots(raw).reads.set('alice', 1);
    conversationRoots(raw).reads.set('alice', 2);
    conversationRoots(raw).messages.set(secret.key, tombstone(secret, secret.sender));
    const update = Y.encodeStateAsUpdate(raw);
    expect(Buffer.from(update).includes('a recalled text')).toBe(true);
    expect(loadDeletes(update)).toBe(true);

    // The same document compacted (merged in a garbage-collecting document, as the stores do):
    // its deleted items arrive empty, and only a read position is deleted with content.
    const compacted = new Y.Doc();
    Y.applyUpdate(compacted, update);
    const merged = Y.encodeStateAsUpdate(compacted);
    expect(Buffer.from(merged).includes('a recalled text')).toBe(false);
    expect(loadDeletes(merged)).toBe(false);
  });
});
