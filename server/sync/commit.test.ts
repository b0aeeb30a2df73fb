import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { writeGenesis } from '../../shared/conversation.js';
import { MessageFormat } from '../../shared/enums.js';
import { asIdentityId, type MessageId, type MessageKey, newMessageKey } from '../../shared/ids.js';
import { parseKey, privateKey } from '../../shared/keys.js';
import { byRoot } from '../../shared/rules/context.js';
import { conversationRoots, type Message } from '../../shared/schema.js';
import type { Identity } from '../auth/identity.js';
import { commit } from './commit.js';
import { createStamper } from './stamp.js';

const alice: Identity = { id: asIdentityId('alice'), type: 1 };
const parsed = parseKey(privateKey(asIdentityId('alice'), asIdentityId('bob')));
let next = 100;
const ids = {
  next: () => {
    next += 1;
    return String(next) as MessageId;
  },
};

function chat(): Y.Doc {
  const doc = new Y.Doc();
  writeGenesis(doc, {
    parsed,
    conversationId: ids.next(),
    now: 1,
    createdBy: alice.id,
    identityTypes: new Map([[alice.id, 1]]),
  });
  return doc;
}

const text = (content: string, sentAt: number): Message => ({
  key: newMessageKey(),
  sender: alice.id,
  senderType: 1,
  format: MessageFormat.Text,
  content,
  sentAt,
});

describe('commit', () => {
  it('stamps new messages in written order and returns them keyed, with effects instead of calls', () => {
    const doc = chat();
    const stamper = createStamper(ids, 0);
    const [late, early] = [text('second', 20), text('first', 10)];
    const { messages } = conversationRoots(doc);
    messages.set(late.key, late);
    messages.set(early.key, early);
    const writes = byRoot([
      { root: 'messages', key: late.key, value: late },
      { root: 'messages', key: early.key, value: early },
    ]);
    const done = commit(
      { doc, parsed, stamper, ids },
      alice,
      { bind: [], writes, recalls: [], notes: [] },
      50,
    );
    expect(done.stamped.map((s) => [s.key, s.seq, s.at])).toEqual([
      [early.key, 1, 50],
      [late.key, 2, 50],
    ]);
    expect(done.stamps.map((s) => s.id)).toEqual(done.stamped.map((s) => s.id));
    expect(done.effects).toEqual({ closeUnreadable: false, compact: false, censored: false });
  });

  it('asks for closing unreadable sockets after member writes, and compaction after a recall', () => {
    const doc = chat();
    const stamper = createStamper(ids, 0);
    const message = text('oops', 10);
    conversationRoots(doc).messages.set(message.key, message);
    commit(
      { doc, parsed, stamper, ids },
      alice,
      {
        bind: [],
        writes: byRoot([{ root: 'messages', key: message.key, value: message }]),
        recalls: [],
        notes: [],
      },
      20,
    );
    const recalled = { ...message, content: '', recalled: true };
    const done = commit(
      { doc, parsed, stamper, ids },
      alice,
      {
        bind: [],
        writes: byRoot([
          { root: 'messages', key: message.key, value: recalled },
          { root: 'members', key: 'bob', value: undefined },
        ]),
        recalls: [message.key as MessageKey],
        notes: [],
      },
      30,
    );
    expect(done.effects).toEqual({ closeUnreadable: true, compact: true, censored: false });
    expect(done.stamped).toEqual([]);
    expect(conversationRoots(doc).stamps.get(message.key)?.recalledAt).toBe(30);
  });
});
