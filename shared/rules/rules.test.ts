/**
 * The shared rules on their own (the server's filter and the SDK both run them): accepted
 * counterparts of the attacks in test/e2e/attacks.test.ts, and the cases only a unit test
 * reaches cheaply.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { genesisWrites } from '../actions.js';
import { MemberRole, MemberStatus, MessageFormat, PlatformRole } from '../enums.js';
import { fileUrl } from '../file-url.js';
import { asIdentityId, type MessageId, newMessageKey } from '../ids.js';
import { groupKey, parseKey, systemKey } from '../keys.js';
import { conversationRoots, type Member, type Message, type RootName } from '../schema.js';
import type { Author } from './access.js';
import type { Write } from './context.js';
import { messageShapeError, tombstone } from './message.js';
import { checkWrites } from './writes.js';

const who = (id: string, role?: Author['role']): Author => ({
  id: asIdentityId(id),
  type: 1,
  ...(role ? { role } : {}),
});
const key = groupKey();
const parsed = parseKey(key);

function apply(doc: Y.Doc, writes: Write[]): void {
  doc.transact(() => {
    for (const w of writes) doc.getMap(w.root).set(w.key, w.value);
  });
}

function judge(doc: Y.Doc, author: Author, writes: Write[], now = 1000, p = parsed) {
  const byRoot = new Map<RootName, Map<string, unknown>>();
  for (const w of writes) {
    const m = byRoot.get(w.root) ?? new Map();
    m.set(w.key, w.value);
    byRoot.set(w.root, m);
  }
  return checkWrites({ doc, parsed: p, author, now, lastSeq: 10, writes: byRoot })?.error.code;
}

/** A group of olga (owner), adam (admin), mia and max (members). */
function team(settings: Record<string, unknown> = {}): Y.Doc {
  const doc = new Y.Doc();
  apply(
    doc,
    genesisWrites(
      key,
      {
        name: 'team',
        members: ['adam', 'mia', 'max'].map((m) => ({
          identity: asIdentityId(m),
          identityType: 1,
        })),
      },
      who('olga'),
      0,
    ),
  );
  const members = conversationRoots(doc).members;
  members.set('adam', { ...members.get('adam')!, role: MemberRole.Admin });
  for (const [k, v] of Object.entries(settings)) conversationRoots(doc).settings.set(k, v as never);
  return doc;
}

const member = (doc: Y.Doc, id: string): Member => conversationRoots(doc).members.get(id)!;
const set = (id: string, value: Member): Write => ({ root: 'members', key: id, value });

describe('group genesis', () => {
  it('accepts a creator making itself owner, refuses other shapes', () => {
    const fresh = new Y.Doc();
    const writes = genesisWrites(
      key,
      { name: 'g', members: [{ identity: asIdentityId('bob'), identityType: 1 }] },
      who('olga'),
      0,
    );
    expect(judge(fresh, who('olga'), writes)).toBeUndefined();
    const asOther = writes.map((w) => (w.key === 'createdBy' ? { ...w, value: 'bob' } : w));
    expect(judge(fresh, who('olga'), asOther)).toBe('SCHEMA_VIOLATION');
    const twoOwners = [
      ...writes,
      set('bob', {
        identityType: 1,
        role: MemberRole.Owner,
        status: 1,
        joinTime: 0,
        invitedBy: asIdentityId('olga'),
      }),
    ];
    expect(judge(fresh, who('olga'), twoOwners)).toBe('ROLE_FORBIDDEN');
    const serverField = [...writes, { root: 'meta' as const, key: 'conversationId', value: '1' }];
    expect(judge(fresh, who('olga'), serverField)).toBe('SERVER_ONLY');
  });
});

describe('membership', () => {
  it('lets the owner transfer ownership in one update, and nobody else', () => {
    const doc = team();
    const transfer = [
      set('mia', { ...member(doc, 'mia'), role: MemberRole.Owner }),
      set('olga', { ...member(doc, 'olga'), role: MemberRole.Admin }),
    ];
    expect(judge(doc, who('olga'), transfer)).toBeUndefined();
    expect(judge(doc, who('olga'), [transfer[0]!])).toBe('ROLE_FORBIDDEN'); // two owners
    expect(judge(doc, who('adam'), transfer)).toBe('ROLE_FORBIDDEN');
  });

  it('lets admins remove plain members, not admins; the owner removes admins', () => {
    const doc = team();
    const remove = (id: string) =>
      set(id, { ...member(doc, id), status: MemberStatus.Exited, exitTime: 500 });
    expect(judge(doc, who('adam'), [remove('mia')])).toBeUndefined();
    expect(judge(doc, who('mia'), [remove('max')])).toBe('ROLE_FORBIDDEN');
    expect(judge(doc, who('olga'), [remove('adam')])).toBeUndefined();
    const adam2 = team();
    conversationRoots(adam2).members.set('max', {
      ...member(adam2, 'max'),
      role: MemberRole.Admin,
    });
    expect(
      judge(adam2, who('adam'), [
        set('max', { ...member(adam2, 'max'), status: 2, exitTime: 500 }),
      ]),
    ).toBe('ROLE_FORBIDDEN');
  });

  it('lets members leave unless the owner or allowMemberExit says no', () => {
    const exit = (doc: Y.Doc, id: string) =>
      set(id, { ...member(doc, id), status: MemberStatus.Exited, exitTime: 500 });
    const doc = team();
    expect(judge(doc, who('mia'), [exit(doc, 'mia')])).toBeUndefined();
    expect(judge(doc, who('olga'), [exit(doc, 'olga')])).toBe('EXIT_FORBIDDEN');
    const strict = team({ allowMemberExit: false });
    expect(judge(strict, who('mia'), [exit(strict, 'mia')])).toBe('EXIT_FORBIDDEN');
  });

  it('lets plain members invite only when allowInvite is on; re-invites exited members', () => {
    const invite = (by: string): Write =>
      set('nina', {
        identityType: 1,
        role: MemberRole.Member,
        status: 1,
        joinTime: 500,
        invitedBy: asIdentityId(by),
      });
    expect(judge(team(), who('mia'), [invite('mia')])).toBeUndefined();
    expect(judge(team({ allowInvite: false }), who('mia'), [invite('mia')])).toBe(
      'INVITE_FORBIDDEN',
    );
    expect(judge(team({ allowInvite: false }), who('adam'), [invite('adam')])).toBeUndefined();
    expect(judge(team(), who('mia'), [invite('olga')])).toBe('SCHEMA_VIOLATION'); // invitedBy is the inviter
    const doc = team();
    conversationRoots(doc).members.set('max', { ...member(doc, 'max'), status: 2, exitTime: 100 });
    const { exitTime: _, ...back } = member(doc, 'max');
    expect(
      judge(doc, who('adam'), [
        set('max', { ...back, status: 1, invitedBy: asIdentityId('adam') }),
      ]),
    ).toBeUndefined();
  });

  it('lets a plain member re-invite someone whose mute ran out, not set or lift a mute', () => {
    const doc = team();
    // max was muted until 800, then left; now (1000) the mute has run out.
    conversationRoots(doc).members.set('max', {
      ...member(doc, 'max'),
      status: 2,
      exitTime: 900,
      mutedUntil: 800,
    });
    const { exitTime: _, mutedUntil: __, ...back } = member(doc, 'max');
    const reinvite = (extra: Partial<Member>): Write =>
      set('max', { ...back, status: 1, joinTime: 950, invitedBy: asIdentityId('mia'), ...extra });
    // The SDK's invite writes no mutedUntil for a mute that has run out: accepted.
    expect(judge(doc, who('mia'), [reinvite({})], 1000)).toBeUndefined();
    // At 700 the mute (until 800) still runs: a plain member cannot lift it by re-inviting; it
    // may keep it; it cannot set a new one.
    expect(judge(doc, who('mia'), [reinvite({})], 700)).toBe('ROLE_FORBIDDEN');
    expect(judge(doc, who('mia'), [reinvite({ mutedUntil: 800 })], 700)).toBeUndefined();
    expect(judge(doc, who('mia'), [reinvite({ mutedUntil: 5000 })], 1000)).toBe('ROLE_FORBIDDEN');
    // The owner may do either.
    expect(
      judge(
        doc,
        who('olga'),
        [set('max', { ...back, status: 1, joinTime: 950, invitedBy: asIdentityId('olga') })],
        700,
      ),
    ).toBeUndefined();
  });

  it('refuses profile writes in an archived conversation, like every other write but reads', () => {
    const doc = team();
    const profile: Write = { root: 'profiles', key: 'mia', value: { nickname: 'Mia' } };
    expect(judge(doc, who('mia'), [profile])).toBeUndefined();
    conversationRoots(doc).meta.set('status', 3);
    expect(judge(doc, who('mia'), [profile])).toBe('CONVERSATION_ARCHIVED');
  });

  it('refuses member times in the future and deleting member entries', () => {
    const doc = team();
    expect(
      judge(doc, who('adam'), [
        set('nina', {
          identityType: 1,
          role: 1,
          status: 1,
          joinTime: 10_000_000,
          invitedBy: asIdentityId('adam'),
        }),
      ]),
    ).toBe('SCHEMA_VIOLATION');
    expect(judge(doc, who('olga'), [{ root: 'members', key: 'mia', value: undefined }])).toBe(
      'SCHEMA_VIOLATION',
    );
  });
});

describe('messages', () => {
  const base = (extra: Partial<Message> = {}): Message => ({
    key: newMessageKey(),
    sender: asIdentityId('mia'),
    senderType: 1,
    format: MessageFormat.Text,
    content: 'hi',
    sentAt: 1,
    ...extra,
  });

  it('validates every format', () => {
    const file = (mime: string, size: number, name?: string) => ({
      url: fileUrl(key, 'ab'.repeat(32)),
      size,
      mime,
      ...(name ? { name } : {}),
    });
    expect(messageShapeError(base())).toBeUndefined();
    expect(messageShapeError(base({ content: '' }))).toMatch(/needs content/);
    expect(messageShapeError(base({ content: 'x'.repeat(5001) }))).toMatch(/at most 5000/);
    expect(
      messageShapeError(
        base({ format: MessageFormat.Image, content: '', file: file('image/png', 1000) }),
      ),
    ).toBeUndefined();
    expect(
      messageShapeError(
        base({ format: MessageFormat.Image, content: '', file: file('application/pdf', 1000) }),
      ),
    ).toMatch(/not allowed/);
    expect(
      messageShapeError(
        base({
          format: MessageFormat.Image,
          content: '',
          file: file('image/png', 21 * 1024 * 1024),
        }),
      ),
    ).toMatch(/file.size/);
    expect(
      messageShapeError(
        base({ format: MessageFormat.File, content: '', file: file('application/pdf', 1000) }),
      ),
    ).toMatch(/file.name/);
    expect(
      messageShapeError(
        base({
          format: MessageFormat.File,
          content: '',
          file: file('application/pdf', 1000, 'a.pdf'),
        }),
      ),
    ).toBeUndefined();
    expect(
      messageShapeError(
        base({
          format: MessageFormat.Voice,
          content: '',
          file: file('audio/aac', 1000),
          duration: 12,
        }),
      ),
    ).toBeUndefined();
    expect(
      messageShapeError(
        base({ format: MessageFormat.Voice, content: '', file: file('audio/aac', 1000) }),
      ),
    ).toMatch(/duration/);
    expect(
      messageShapeError(
        base({
          format: MessageFormat.Video,
          content: '',
          file: file('video/mp4', 1000),
          duration: 2000,
        }),
      ),
    ).toMatch(/duration/);
    expect(
      messageShapeError(
        base({
          format: MessageFormat.Card,
          content: 'order',
          card: { bizType: 7, bizId: 'o-1', title: 'Order 1' },
        }),
      ),
    ).toBeUndefined();
    expect(messageShapeError(base({ format: MessageFormat.Card, content: 'order' }))).toMatch(
      /card/,
    );
    expect(messageShapeError(base({ file: file('image/png', 1) }))).toMatch(/no file/);
    expect(messageShapeError({ ...base(), url: 'x' })).toMatch(/unknown message field/);
  });

  it('lets group owner/admin recall a lower-ranked member’s message at any time', () => {
    const doc = team();
    const m = base();
    conversationRoots(doc).messages.set(m.key, m);
    conversationRoots(doc).stamps.set(m.key, { seq: 1, id: '1' as MessageId, at: 0 });
    const late = 10 * 60_000;
    expect(
      judge(
        doc,
        who('adam'),
        [{ root: 'messages', key: m.key, value: tombstone(m, asIdentityId('adam')) }],
        late,
      ),
    ).toBeUndefined();
    expect(
      judge(
        doc,
        who('max'),
        [{ root: 'messages', key: m.key, value: tombstone(m, asIdentityId('max')) }],
        late,
      ),
    ).toBe('RECALL_FORBIDDEN');
    expect(
      judge(
        doc,
        who('mia'),
        [{ root: 'messages', key: m.key, value: tombstone(m, asIdentityId('mia')) }],
        late,
      ),
    ).toBe('RECALL_WINDOW_PASSED');
    // The tombstone must be exactly the recall of that message, by its author.
    expect(
      judge(
        doc,
        who('adam'),
        [{ root: 'messages', key: m.key, value: tombstone(m, asIdentityId('olga')) }],
        late,
      ),
    ).toBe('IMMUTABLE');
  });

  it('lets backend jobs post to system conversations, and the identity only read', () => {
    const doc = new Y.Doc();
    const sys = parseKey(systemKey(asIdentityId('sam')));
    const notice = (sender: string) => ({
      root: 'messages' as const,
      key: '',
      value: { ...base({ sender: asIdentityId(sender) }) },
    });
    const w = (sender: string) => {
      const n = notice(sender);
      return [{ ...n, key: (n.value as Message).key }];
    };
    expect(judge(doc, who('billing', PlatformRole.Service), w('billing'), 1, sys)).toBeUndefined();
    expect(judge(doc, who('sam'), w('sam'), 1, sys)).toBe('POST_FORBIDDEN');
  });
});
