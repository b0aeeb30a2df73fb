import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { IdentityId, MessageId, MessageKey } from '../shared/ids.js';
import { isUnread } from '../shared/rules/unread.js';
import { conversationRoots, type Message } from '../shared/schema.js';
import { Fenwick, liveSummary, summarize } from './log-summary.js';

const people = ['ana', 'bo', 'cy'] as const;

/** The definition, counted the slow way (as the snapshot checker does). */
function naiveUnread(doc: Y.Doc, reader: string, position: number): number {
  const { messages, stamps } = conversationRoots(doc);
  let n = 0;
  for (const [key, stamp] of stamps.entries()) {
    const message = messages.get(key);
    if (!message) continue;
    const facts = {
      seq: stamp.seq,
      sender: message.sender,
      system: message.system !== undefined,
      recalled: message.recalled !== undefined,
    };
    if (isUnread(facts, reader, position)) n += 1;
  }
  return n;
}

function naiveLast(doc: Y.Doc): number | undefined {
  const { messages, stamps } = conversationRoots(doc);
  let top: number | undefined;
  for (const [key, stamp] of stamps.entries())
    if (messages.has(key) && (top === undefined || stamp.seq > top)) top = stamp.seq;
  return top;
}

type Op =
  | { op: 'send'; who: number; system: boolean; stampLater: boolean }
  | { op: 'stampPending' }
  | { op: 'recall'; pick: number }
  | { op: 'expire'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('send' as const),
    who: fc.nat(2),
    system: fc.boolean(),
    stampLater: fc.boolean(),
  }),
  fc.record({ op: fc.constant('stampPending' as const) }),
  fc.record({ op: fc.constant('recall' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('expire' as const), pick: fc.nat() }),
);

describe('liveSummary', () => {
  it('agrees with the unread definition, message ids and the last message after any history', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const doc = new Y.Doc();
        const { messages, stamps } = conversationRoots(doc);
        const live = liveSummary(doc);
        let seq = 0;
        let n = 0;
        const pending: MessageKey[] = [];
        const stamp = (key: MessageKey) => {
          seq += 1;
          stamps.set(key, { seq, id: `id${seq}` as MessageId, at: seq * 10 });
        };
        for (const op of ops) {
          doc.transact(() => {
            const keys = [...stamps.keys()].filter((k) => messages.has(k)) as MessageKey[];
            switch (op.op) {
              case 'send': {
                n += 1;
                const key = `k${n}` as MessageKey;
                const message: Message = {
                  key,
                  sender: people[op.who] as IdentityId,
                  senderType: 1,
                  format: 0,
                  content: 'x',
                  sentAt: 0,
                  ...(op.system
                    ? {
                        system: {
                          event: 'joined',
                          actor: 'ana' as IdentityId,
                          target: 'bo' as IdentityId,
                        },
                      }
                    : {}),
                };
                messages.set(key, message);
                if (op.stampLater) pending.push(key);
                else stamp(key);
                break;
              }
              case 'stampPending':
                for (const key of pending.splice(0)) stamp(key);
                break;
              case 'recall': {
                const key = keys[op.pick % Math.max(1, keys.length)];
                const message = key && messages.get(key);
                if (!message) break;
                messages.set(key, { ...message, content: '', recalled: { by: message.sender } });
                break;
              }
              case 'expire': {
                const key = keys[op.pick % Math.max(1, keys.length)];
                if (key) messages.delete(key);
                break;
              }
            }
          });
          const scanned = summarize(doc);
          for (const summary of [live, scanned]) {
            for (const reader of people)
              for (let position = 0; position <= seq + 1; position += 1)
                expect(summary.unread(reader, position)).toBe(naiveUnread(doc, reader, position));
            expect(summary.last?.seq).toBe(naiveLast(doc));
            for (const [key, s] of stamps.entries())
              expect(summary.idAt(s.seq)).toBe(messages.has(key) ? s.id : undefined);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('Fenwick', () => {
  it('keeps prefix sums while it grows', () => {
    const tree = new Fenwick();
    const values: number[] = [];
    for (let i = 1; i < 300; i += 1) {
      const v = i % 3 === 0 ? 0 : 1;
      values[i] = v;
      if (v) tree.add(i, 1);
      if (i % 7 === 0) {
        tree.add(i - 1, values[i - 1] ? -1 : 1);
        values[i - 1] = values[i - 1] ? 0 : 1;
      }
    }
    let sum = 0;
    for (let i = 1; i < 300; i += 1) {
      sum += values[i]!;
      expect(tree.upTo(i)).toBe(sum);
    }
    expect(tree.total()).toBe(sum);
    expect(tree.upTo(10_000)).toBe(sum);
  });
});
