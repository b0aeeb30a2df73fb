/**
 * The local search rules on one real conversation document: membership, history visibility,
 * recalled and system messages, case, pending messages, order.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemberRole, MemberStatus, MessageFormat } from '../shared/enums.js';
import { asIdentityId, type MessageId, newMessageKey } from '../shared/ids.js';
import { type ConversationKey, groupKey } from '../shared/keys.js';
import { conversationRoots, type Message } from '../shared/schema.js';
import { newestFirst, searchDocument } from './search.js';

const alice = asIdentityId('alice');
const bob = asIdentityId('bob');

function group(joinTime: number) {
  const doc = new Y.Doc();
  const roots = conversationRoots(doc);
  roots.members.set(alice, {
    identityType: 1,
    role: MemberRole.Member,
    status: MemberStatus.Active,
    joinTime,
  });
  let seq = 0;
  const post = (content: string, at: number | undefined, extra: Partial<Message> = {}) => {
    const key = newMessageKey();
    const message: Message = {
      key,
      sender: bob,
      senderType: 1,
      format: MessageFormat.Text,
      content,
      sentAt: at ?? 10_000,
      ...extra,
    };
    roots.messages.set(key, message);
    if (at !== undefined) {
      seq += 1;
      roots.stamps.set(key, { seq, id: String(seq) as MessageId, at });
    }
  };
  return { doc, roots, post, key: groupKey() as ConversationKey };
}

const contents = (hits: ReturnType<typeof searchDocument>) =>
  hits.sort(newestFirst).map((h) => h.message.content);

describe('searchDocument', () => {
  it('finds substrings in any case and script, newest first, pending ones by when written', () => {
    const g = group(0);
    g.post('明天下午开会讨论预算', 100);
    g.post('The Budget is final', 200);
    g.post('预算 pending on this device', undefined);
    expect(contents(searchDocument(g.doc, g.key, alice, '预算'))).toEqual([
      '预算 pending on this device',
      '明天下午开会讨论预算',
    ]);
    expect(contents(searchDocument(g.doc, g.key, alice, 'BUDGET'))).toEqual([
      'The Budget is final',
    ]);
  });

  it('skips recalled and system messages', () => {
    const g = group(0);
    g.post('', 100, { recalled: { by: bob } });
    g.post('bob invited carol', 200, {
      system: { event: 'joined', actor: bob, target: asIdentityId('carol') },
    });
    g.post('carol says hi', 300);
    expect(contents(searchDocument(g.doc, g.key, alice, 'carol'))).toEqual(['carol says hi']);
  });

  it('without history, finds only what was accepted from the join time on', () => {
    const g = group(150);
    g.post('before roadmap', 100);
    g.post('after roadmap', 200);
    expect(contents(searchDocument(g.doc, g.key, alice, 'roadmap'))).toHaveLength(2);
    g.roots.settings.set('enableMessageHistory', false);
    expect(contents(searchDocument(g.doc, g.key, alice, 'roadmap'))).toEqual(['after roadmap']);
  });

  it('finds nothing once the identity left or was removed', () => {
    const g = group(0);
    g.post('roadmap', 100);
    g.roots.members.set(alice, {
      identityType: 1,
      role: MemberRole.Member,
      status: MemberStatus.Exited,
      joinTime: 0,
      exitTime: 150,
    });
    expect(searchDocument(g.doc, g.key, alice, 'roadmap')).toEqual([]);
  });
});
