import { describe, expect, it } from 'vitest';
import { ConversationType } from './enums.js';
import { ConvosyncError } from './errors.js';
import { asIdentityId, type IdentityId } from './ids.js';
import {
  assistantKey,
  groupKey,
  inboxKey,
  parseInboxKey,
  parseKey,
  privateKey,
  systemKey,
  tryParseKey,
} from './keys.js';

const id = (s: string) => asIdentityId(s);

describe('conversation keys', () => {
  it('orders private keys by string order, whichever side creates them', () => {
    expect(privateKey(id('bob'), id('alice'))).toBe('private_alice_bob');
    expect(privateKey(id('alice'), id('bob'))).toBe('private_alice_bob');
    // String order, not numeric: "10" < "9".
    expect(privateKey(id('9'), id('10'))).toBe('private_10_9');
    // Upper case sorts before lower case (code units), as in Postgres COLLATE "C".
    expect(privateKey(id('b'), id('B'))).toBe('private_B_b');
  });

  it('round-trips every kind of key', () => {
    expect(parseKey('private_alice_bob')).toEqual({
      type: ConversationType.Private,
      key: 'private_alice_bob',
      members: ['alice', 'bob'],
    });
    const g = groupKey('0F8FAD5B-D9CB-469F-A165-70867728950E');
    expect(g).toBe('group_0f8fad5bd9cb469fa16570867728950e');
    expect(parseKey(g)).toMatchObject({
      type: ConversationType.Group,
      groupId: '0f8fad5bd9cb469fa16570867728950e',
    });
    expect(parseKey(groupKey())).toMatchObject({ type: ConversationType.Group });
    expect(parseKey(systemKey(id('u-1.x')))).toMatchObject({
      type: ConversationType.System,
      owner: 'u-1.x',
    });
    expect(parseKey(assistantKey(id('u1')))).toMatchObject({
      type: ConversationType.Assistant,
      owner: 'u1',
    });
    expect(parseInboxKey(inboxKey(id('u1')))).toBe('u1');
  });

  it('parses unambiguously: identity ids cannot contain "_"', () => {
    expect(() => asIdentityId('a_b')).toThrow(ConvosyncError);
    // "private_a_b_c" could be (a, b_c) or (a_b, c): it is neither.
    expect(tryParseKey('private_a_b_c')).toBeUndefined();
  });

  it('rejects non-canonical, malformed and foreign keys', () => {
    for (const bad of [
      'private_bob_alice', // not in order
      'private_alice_alice', // same identity twice
      'private_alice',
      'private__bob',
      'group_xyz',
      'group_0F8FAD5BD9CB469FA16570867728950E', // upper case
      'system_',
      'system_a/b',
      'assistant_a b',
      'inbox_alice', // a document, but not a conversation
      'chat_alice',
      'nounderscore',
      '',
      `system_${'a'.repeat(51)}`,
    ]) {
      expect(tryParseKey(bad), bad).toBeUndefined();
    }
    expect(() => parseKey('private_bob_alice')).toThrow(/not a conversation key/);
    expect(() => privateKey(id('a'), id('a'))).toThrow(ConvosyncError);
    expect(() => privateKey('a_b' as IdentityId, id('c'))).toThrow(ConvosyncError);
  });

  it('accepts identity ids up to 50 characters from [A-Za-z0-9.-]', () => {
    const long = 'a'.repeat(50);
    expect(parseKey(systemKey(id(long)))).toMatchObject({ owner: long });
    expect(() => asIdentityId('a'.repeat(51))).toThrow();
    expect(() => asIdentityId('-leading-dash')).toThrow();
    expect(() => asIdentityId('.hidden')).toThrow();
    expect(() => asIdentityId('用户')).toThrow();
  });
});
