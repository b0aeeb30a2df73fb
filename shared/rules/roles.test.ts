/**
 * Role changes as README "Role changes" reads the spec: the owner sets any role, an admin only
 * sets admins (itself included) back to plain members, a plain member sets none. Judged by the
 * rules the server's filter and the SDK both run.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { genesisWrites } from '../actions.js';
import { MemberRole } from '../enums.js';
import { asIdentityId } from '../ids.js';
import { groupKey, parseKey } from '../keys.js';
import { conversationRoots, type Member, type RootName } from '../schema.js';
import type { Write } from './context.js';
import { checkWrites } from './writes.js';

const key = groupKey();
const author = (id: string) => ({ id: asIdentityId(id), type: 1 });

/** olga (owner), adam and ada (admins), mia and max (members). */
function team(): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    for (const w of genesisWrites(
      key,
      {
        name: 'roles',
        members: ['adam', 'ada', 'mia', 'max'].map((m) => ({
          identity: asIdentityId(m),
          identityType: 1,
        })),
      },
      author('olga'),
      0,
    ))
      doc.getMap(w.root).set(w.key, w.value);
  });
  const { members } = conversationRoots(doc);
  for (const admin of ['adam', 'ada'])
    members.set(admin, { ...members.get(admin)!, role: MemberRole.Admin });
  return doc;
}

function setRole(by: string, target: string, role: MemberRole): string | undefined {
  const doc = team();
  const current = conversationRoots(doc).members.get(target) as Member;
  const writes: Write[] = [{ root: 'members', key: target, value: { ...current, role } }];
  const byRoot = new Map<RootName, Map<string, unknown>>([
    ['members', new Map(writes.map((w) => [w.key, w.value]))],
  ]);
  return checkWrites({
    doc,
    parsed: parseKey(key),
    author: author(by),
    now: 1000,
    lastSeq: 0,
    writes: byRoot,
  })?.error.code;
}

describe('群主可以设置任何角色，管理员只能设置普通成员', () => {
  it('the owner makes admins and plain members', () => {
    expect(setRole('olga', 'mia', MemberRole.Admin)).toBeUndefined();
    expect(setRole('olga', 'adam', MemberRole.Member)).toBeUndefined();
  });

  it('an admin sets admins back to plain members, itself included', () => {
    expect(setRole('adam', 'ada', MemberRole.Member)).toBeUndefined();
    expect(setRole('adam', 'adam', MemberRole.Member)).toBeUndefined();
  });

  it('an admin never appoints an admin nor touches the owner', () => {
    expect(setRole('adam', 'mia', MemberRole.Admin)).toBe('ROLE_FORBIDDEN');
    expect(setRole('adam', 'olga', MemberRole.Member)).toBe('ROLE_FORBIDDEN');
    expect(setRole('adam', 'olga', MemberRole.Admin)).toBe('ROLE_FORBIDDEN');
    expect(setRole('adam', 'mia', MemberRole.Owner)).toBe('ROLE_FORBIDDEN');
  });

  it('a plain member changes no role', () => {
    expect(setRole('mia', 'max', MemberRole.Admin)).toBe('ROLE_FORBIDDEN');
    expect(setRole('mia', 'adam', MemberRole.Member)).toBe('ROLE_FORBIDDEN');
    expect(setRole('mia', 'mia', MemberRole.Admin)).toBe('ROLE_FORBIDDEN');
  });
});
